"""One router per resource: projects, examples, jobs, versions, predict; meta (info, health)."""
