# images/: image store, layers, bundle generation (issue 5).
