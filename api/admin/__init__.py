"""`chatstore-admin` (`python -m api.admin`): the operators' command, built from the same
settings and composition root as the server (ADR 0026). One module per subcommand."""
