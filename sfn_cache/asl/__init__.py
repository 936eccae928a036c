"""Reading, parsing, validating and emitting ASL definitions and CloudFormation/SAM templates."""
