"""`make soak`: mixed traffic from many users against a real server for a set time, with
SIGKILLs and SIGTERMs during uploads, checking after every restart and at the end that no
acknowledged write was lost (ADR 0034)."""
