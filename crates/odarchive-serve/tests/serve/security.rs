//! Who gets in: the loopback Host check, the token on other addresses, the action header.

use crate::support::{Archive, Request, get};

#[test]
fn a_loopback_server_refuses_other_host_names() {
    let archive = Archive::new();
    let server = archive.serve();
    let a = server.address;
    for host in ["localhost", &format!("127.0.0.1:{}", a.port()), "[::1]:1"] {
        let r = Request::get(a, "/api/status").header("Host", host).send();
        assert_eq!(r.status, 200, "{host}");
    }
    for host in [
        "evil.example",
        "evil.example:8080",
        "localhost.evil.example",
        "",
    ] {
        let r = Request::get(a, "/api/status").header("Host", host).send();
        assert_eq!(r.status, 403, "{host}");
        assert!(r.error().contains("DNS rebinding"), "{host}");
    }
}

#[test]
fn a_server_with_a_token_refuses_requests_without_it() {
    let archive = Archive::new();
    let token = "0123456789abcdef0123456789abcdef".to_owned();
    // A token given makes even a loopback server ask for it, as on any other address.
    let server = archive.serve_on("127.0.0.1:0".parse().unwrap(), Some(token.clone()));
    let a = server.address;

    let none = get(a, "/api/status");
    assert_eq!(none.status, 401);
    assert!(none.error().contains("no token given"), "{}", none.text());
    let wrong = Request::get(a, "/api/status")
        .header("Authorization", "Bearer 0123456789abcdef0123456789abcdeX")
        .send();
    assert_eq!(wrong.status, 401);
    assert!(wrong.error().contains("not this server's"));
    // Pages too.
    assert_eq!(get(a, "/").status, 401);
    assert_eq!(get(a, "/browse").status, 401);

    let bearer = Request::get(a, "/api/status")
        .header("Authorization", format!("Bearer {token}"))
        .send();
    assert_eq!(bearer.status, 200);

    // The login exchange sets a cookie that lets the browser in.
    let bad_login = get(a, "/login?token=nope");
    assert_eq!(bad_login.status, 401);
    let login = get(a, &format!("/login?token={token}"));
    assert_eq!(login.status, 303, "{}", login.text());
    let cookie = login.header("set-cookie").unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_owned();
    let with_cookie = Request::get(a, "/api/discs").header("Cookie", pair).send();
    assert_eq!(with_cookie.status, 200);
}

#[test]
fn a_server_on_another_address_makes_a_token() {
    let archive = Archive::new();
    // 0.0.0.0 is not loopback: a token is made, and nothing gets in without it.
    let server = archive.serve_on("0.0.0.0:0".parse().unwrap(), None);
    let token = server
        .token
        .clone()
        .expect("a token for a non-loopback address");
    assert_eq!(token.len(), 64);
    assert!(server.url().contains(&token));
    let a: std::net::SocketAddr = format!("127.0.0.1:{}", server.address.port())
        .parse()
        .unwrap();
    // No Host check there (the token guards), but the token is needed.
    let r = Request::get(a, "/api/status")
        .header("Host", "archive.lan")
        .send();
    assert_eq!(r.status, 401);
    let r = Request::get(a, "/api/status")
        .header("Host", "archive.lan")
        .header("Authorization", format!("Bearer {token}"))
        .send();
    assert_eq!(r.status, 200);
}

#[test]
fn actions_need_the_action_header_and_the_same_origin() {
    let archive = Archive::new();
    let server = archive.serve();
    let a = server.address;
    let body = serde_json::json!({"paths": ["docs"], "to": "x"});
    let no_header = Request::post_json(a, "/api/restore", &body)
        .without("X-Odarchive-Action")
        .send();
    assert_eq!(no_header.status, 403);
    assert!(
        no_header.error().contains("X-Odarchive-Action")
            || no_header.error().contains("x-odarchive-action")
    );
    let other_site = Request::post_json(a, "/api/restore", &body)
        .header("Origin", "http://evil.example")
        .send();
    assert_eq!(other_site.status, 403);
    assert!(other_site.error().contains("another site"));
    // Nothing was restored by either.
    assert!(crate::support::tree(&archive.restore_to).is_empty());
    assert!(!archive.restore_to.join("x").exists());
}
