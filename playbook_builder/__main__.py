"""`python -m playbook_builder` runs the command line."""

from playbook_builder.cli import main

main()
