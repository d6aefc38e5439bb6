from meshkit.cli import entry

entry()
