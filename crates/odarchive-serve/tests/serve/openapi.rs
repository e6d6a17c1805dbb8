//! The OpenAPI description stays true: every route of the router is in it, and it names
//! no route the router lacks.

use crate::support::{Archive, get};

/// The routes of `odarchive_serve::router`, read from its source: (path, method).
fn routes_in_source() -> Vec<(String, String)> {
    let source = include_str!("../../src/lib.rs");
    source
        .lines()
        .filter_map(|l| l.trim().strip_prefix(".route(\""))
        .map(|rest| {
            let (path, handler) = rest.split_once("\", ").unwrap();
            let method = handler.split('(').next().unwrap();
            (path.to_owned(), method.to_owned())
        })
        .collect()
}

#[test]
fn every_route_is_described_and_every_description_is_a_route() {
    let archive = Archive::new();
    let server = archive.serve();
    let served = get(server.address, "/api/openapi.json");
    assert_eq!(served.status, 200);
    let doc = served.json();
    assert_eq!(doc["openapi"], "3.0.3");
    let described: Vec<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    let routes = routes_in_source();
    assert!(routes.len() >= 15, "{routes:?}");
    for (path, method) in &routes {
        assert!(
            doc["paths"][path][method].is_object(),
            "route {method} {path} is not in openapi.json"
        );
    }
    for d in &described {
        assert!(
            routes.iter().any(|(path, _)| path == d),
            "openapi.json describes {d}, which the router lacks"
        );
    }
    // And each route described answers something other than the fallback's 404.
    for (path, _) in &routes {
        let target = path.replace("{id}", "1");
        if target == "/api/events" || target == "/api/restore" || target == "/login" {
            continue;
        }
        let answer = get(server.address, &target);
        assert_ne!(answer.status, 404, "{target}: {}", answer.text());
    }
}
