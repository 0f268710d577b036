//! The atelier server: CLI commands, the HTTP server, the database backends, file storage
//! and the demo-data generator.

pub mod admin;
pub mod assets;
pub mod background;
pub mod cli;
pub mod config;
pub mod crash;
pub mod demo;
pub mod http;
pub mod jobs;
pub mod media;
pub mod net;
pub mod site;
pub mod storage;
pub mod store;
pub mod upload;
pub mod usage;
