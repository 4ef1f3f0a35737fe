"""playbook: coalition decisions into a playbook site and printable MOU packets."""

__version__ = "0.2.0"
