// The page's first module. It loads app.js dynamically so that even a failure to
// load our own code (a missing or broken file in a partial deploy) ends in a
// visible error state instead of "loading" forever.

import('./app.js').catch((err) => {
  console.error('browsernet: could not load the page script', err);
  document.body.dataset.state = 'error';
  const box = document.getElementById('error');
  if (box) box.textContent = `The page's script could not load (${err && err.message ? err.message : err}). Check that the js/ folder was deployed with the site.`;
  const status = document.getElementById('status');
  if (status) status.textContent = 'The classifier could not start.';
});
