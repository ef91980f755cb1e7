"""The faceval command line (installed as the package ``faceval_cli``)."""
