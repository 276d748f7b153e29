"""Publishing a built site: checks shared by every host, then GitHub Pages or Firebase Hosting."""
