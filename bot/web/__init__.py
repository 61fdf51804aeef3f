"""What the browser faces (sidebar, console) share: signed sessions, CSRF tokens, our origin."""
