"""Running models at scale: worker processes (forks), tagging and scoring in chunks (work),
and the same chunks on a Ray cluster (cluster)."""
