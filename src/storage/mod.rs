//! Storage: the key-value port (`Store`), the record types written to it,
//! and the repository of patterns every flow shares (live reads of
//! short-lived records, sealed writes).

pub mod records;
pub mod repository;
pub mod store;
