"""The static site: render the page (Jinja2), vendor the TF.js runtime, PWA files, host files, pre-compression,
and the staging folder swapped in atomically."""
