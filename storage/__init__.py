"""Object stores (local folder, S3 with Object Lock) and the database."""
