//! Producer configuration with Kafka's key names, defaults and validation.
