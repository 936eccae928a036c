"""What build-lambda writes: the caching Lambda's zips, its IAM policies and a SAM snippet."""
