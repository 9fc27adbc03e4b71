"""One blueprint per resource. Routes are thin: parse with a schema, call one use case, render with a schema."""
