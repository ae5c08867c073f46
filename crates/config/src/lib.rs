//! The sightline.yml configuration: loading, validation with file/line errors, env expansion.
