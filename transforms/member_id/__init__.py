"""Member-ID estimation from (IP, time, User-Agent) accesses: SPEC §S3."""
