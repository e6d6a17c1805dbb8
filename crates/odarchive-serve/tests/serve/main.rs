//! Tests of `odarchive serve` through HTTP: a server over a generated archive on
//! 127.0.0.1:0, asked with a plain HTTP/1.1 client.

mod api;
mod archive;
mod browser;
mod jobs;
mod openapi;
mod restore;
mod security;
mod support;
