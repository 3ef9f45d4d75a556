"""Demo data: offices and synthetic responses, and the one-command demo server."""
