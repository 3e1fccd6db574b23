"""berth: a small FAQ-answering API deployed by the berth Pulumi program."""
