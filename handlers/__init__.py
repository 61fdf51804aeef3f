"""What happens when an event arrives: one package per feature, wired by bot/app.py."""
