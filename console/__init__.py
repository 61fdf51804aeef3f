"""The operator console: a face for supervisors and admins, mounted at /console/."""
