"""``browsernet verify``: drive a built or deployed site in headless Chromium and check it against its report.json."""
