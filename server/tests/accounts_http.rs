//! Accounts as people and scripts use them over HTTP: register, log in and out, sessions
//! on several devices, password changes, disabled accounts, throttling and the guard
//! rails. Each story runs on SQLite and on Postgres.

mod common;

use app::account::{Role, UserStatus};
use app::model::MediaType;
use app::store::{NewAsset, NewUser};
use atelier_server::{
    admin,
    http::{
        rate::{Rate, RateLimits},
        Security, ServerState,
    },
    net::TrustedProxies,
    storage::FileStore,
};
use axum::http::{header, Request, StatusCode};
use common::{session_cookie, Browser, Reply, TestDb, FIREFOX};
use serde_json::json;

const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
const GOOD_PASSWORD: &str = "violet tractor sings";

fn state(db: &TestDb) -> ServerState {
    let files = FileStore::open(db.dir.path()).expect("file store");
    ServerState::new(db.store.clone(), files)
}

fn error_kind(reply: &Reply) -> String {
    reply.json()["error"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn a_visitor_registers_logs_out_and_logs_in_again(db: &TestDb) {
    let state = state(db);
    let mut alice = Browser::new(&state, [192, 0, 2, 1], FIREFOX);

    let anonymous = alice.me().await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_kind(&anonymous), "unauthorized");

    // The first account on the instance is no admin for being first.
    let registered = alice.register("Alice", GOOD_PASSWORD).await;
    assert_eq!(registered.status, StatusCode::OK, "{}", registered.text());
    assert_eq!(
        registered.json(),
        json!({"username": "alice", "role": "user"})
    );
    let set_cookie = registered.header(header::SET_COOKIE).to_string();
    for part in ["HttpOnly", "SameSite=Lax", "Path=/", "Secure"] {
        assert!(
            set_cookie.contains(part),
            "{part} missing from {set_cookie}"
        );
    }
    let first_token = alice.cookie.clone().expect("logged in");
    assert_eq!(
        alice.me().await.json(),
        json!({"username": "alice", "role": "user"})
    );

    // Later accounts are users too; names are unique in any case; rules are explained.
    let mut bob = Browser::new(&state, [192, 0, 2, 2], CHROME);
    assert_eq!(
        bob.register("bob", GOOD_PASSWORD).await.json()["role"],
        "user"
    );
    let mut carol = Browser::new(&state, [192, 0, 2, 3], CHROME);
    let cases: [(&str, &str, Option<&str>, StatusCode, &str); 5] = [
        ("ALICE", GOOD_PASSWORD, None, StatusCode::CONFLICT, "taken"),
        (
            "carol",
            "password1",
            None,
            StatusCode::BAD_REQUEST,
            "most common",
        ),
        (
            "carol",
            "short",
            None,
            StatusCode::BAD_REQUEST,
            "at least 8",
        ),
        (
            "no spaces",
            GOOD_PASSWORD,
            None,
            StatusCode::BAD_REQUEST,
            "only letters",
        ),
        (
            "carol",
            GOOD_PASSWORD,
            Some("something else"),
            StatusCode::BAD_REQUEST,
            "differ",
        ),
    ];
    for (username, password, confirm, status, message) in cases {
        let mut form = vec![("username", username), ("password", password)];
        if let Some(confirm) = confirm {
            form.push(("confirm", confirm));
        }
        let refused = carol.post("/api/register", &form).await;
        assert_eq!(
            refused.status,
            status,
            "{username}/{password}: {}",
            refused.text()
        );
        let text = refused.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(text.contains(message), "{text}");
        assert!(carol.cookie.is_none());
    }

    // Logging out ends the session on the server, not just in the browser.
    let out = alice.post("/api/logout", &[]).await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.text());
    assert!(out.header(header::SET_COOKIE).contains("Max-Age=0"));
    assert!(alice.cookie.is_none());
    alice.cookie = Some(first_token.clone());
    assert_eq!(
        alice.me().await.status,
        StatusCode::UNAUTHORIZED,
        "the old token is dead"
    );

    // Logging in hands out a new token every time, even over an old cookie.
    let back = alice.login("ALICE", GOOD_PASSWORD).await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.text());
    let second_token = alice.cookie.clone().expect("logged in");
    assert_ne!(second_token, first_token);
    assert_eq!(alice.me().await.json()["username"], "alice");
    let again = alice.login("alice", GOOD_PASSWORD).await;
    assert_eq!(again.status, StatusCode::OK);
    let third_token = alice.cookie.clone().expect("logged in");
    assert_ne!(third_token, second_token);
    alice.cookie = Some(second_token);
    assert_eq!(
        alice.me().await.status,
        StatusCode::UNAUTHORIZED,
        "a login replaces the session the browser came with"
    );
    alice.cookie = Some(third_token);

    let user = db
        .store
        .find_user("alice")
        .await
        .expect("find")
        .expect("alice");
    assert_eq!(user.login_count, 3, "register, then two logins");
    assert!(user.last_login_at.is_some());
}

async fn forms_work_without_javascript(db: &TestDb) {
    let state = state(db);
    let mut browser = Browser::new(&state, [192, 0, 2, 4], FIREFOX);

    // The pages are plain forms posting to the API.
    let page = browser.get("/register?next=/account").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains(r#"action="/api/register""#), "{html}");
    assert!(html.contains(r#"name="confirm""#));
    let page = browser.get("/login").await;
    assert!(page.text().contains(r#"action="/api/login""#));

    // /account sends visitors to the login page, and back afterwards.
    let account = browser.get("/account").await;
    assert_eq!(account.status, StatusCode::FOUND);
    assert_eq!(account.header(header::LOCATION), "/login?next=/account");

    let done = browser
        .submit(
            "/register?next=/account",
            "/api/register",
            &[
                ("username", "dora"),
                ("password", GOOD_PASSWORD),
                ("confirm", GOOD_PASSWORD),
                ("next", "/account"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::FOUND, "{}", done.text());
    assert_eq!(done.header(header::LOCATION), "/account");
    assert!(browser.cookie.is_some());
    let account = browser.get("/account").await;
    assert_eq!(account.status, StatusCode::OK);
    let html = account.text();
    assert!(html.contains("this device"), "{html}");
    assert!(html.contains("Firefox on Linux"));
    assert!(html.contains(r#"action="/api/sessions/revoke""#));
    assert!(
        html.contains(r#"class="me">dora<"#),
        "the header names who is logged in: {}",
        html.split("</header>").next().unwrap_or_default()
    );

    // A redirect target that leaves the site is ignored.
    browser.cookie = None;
    let evil = browser
        .submit(
            "/login",
            "/api/login",
            &[
                ("username", "dora"),
                ("password", GOOD_PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(evil.header(header::LOCATION), "/");

    // A wrong password comes back to the form with the error for the page to show.
    browser.cookie = None;
    let wrong = browser
        .submit(
            "/login",
            "/api/login",
            &[("username", "dora"), ("password", "not her password")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FOUND);
    let location = wrong
        .header(header::LOCATION)
        .trim_start_matches("http://atelier.test")
        .to_string();
    assert!(location.starts_with("/login?"), "{location}");
    let shown = browser.get(&location).await;
    assert!(
        shown.text().contains("wrong username or password"),
        "{}",
        shown.text()
    );
    assert!(browser.cookie.is_none());
}

async fn wrong_password_and_unknown_user_look_the_same(db: &TestDb) {
    let state = state(db);
    let mut erin = Browser::new(&state, [192, 0, 2, 5], FIREFOX);
    assert_eq!(
        erin.register("erin", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );
    erin.cookie = None;

    let mut answers = Vec::new();
    let attempts = [
        ("erin", "a wrong password"),
        ("nobody", "a wrong password"),
        ("</script>", "a wrong password"),
        ("", "a wrong password"),
    ];
    for (round, (username, password)) in attempts.into_iter().enumerate() {
        // Separate addresses, so the throttle stays out of the way.
        let mut client = Browser::new(&state, [198, 51, 100, round as u8], FIREFOX);
        let before = state.accounts.passwords.verifications();
        let reply = client.login(username, password).await;
        // Each costs exactly one argon2 verification (a dummy hash for names that do not
        // exist), so none is answered measurably faster than the others.
        assert_eq!(
            state.accounts.passwords.verifications(),
            before + 1,
            "“{username}” must cost one verification"
        );
        answers.push((reply.status, reply.text()));
    }
    let (status, body) = &answers[0];
    assert_eq!(*status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("wrong username or password"), "{body}");
    for answer in &answers {
        assert_eq!(answer, &answers[0], "same status and body");
    }
}

async fn ten_failures_in_a_minute_lock_the_door_even_for_the_right_password(db: &TestDb) {
    let state = state(db);
    let mut owner = Browser::new(&state, [192, 0, 2, 6], FIREFOX);
    assert_eq!(
        owner.register("frank", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );

    let mut attacker = Browser::new(&state, [203, 0, 113, 66], CHROME);
    for attempt in 0..10 {
        let reply = attacker
            .login("frank", &format!("guess number {attempt}"))
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let locked = attacker.login("frank", GOOD_PASSWORD).await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        locked.text()
    );
    assert_eq!(error_kind(&locked), "too_many_requests");
    let retry: u64 = locked
        .header(header::RETRY_AFTER)
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(attacker.cookie.is_none());

    // The account is protected from other addresses too, and the address for other
    // accounts.
    let mut elsewhere = Browser::new(&state, [192, 0, 2, 99], FIREFOX);
    assert_eq!(
        elsewhere.login("frank", GOOD_PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        attacker.login("someone-else", "whatever123").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Sessions that already exist are not affected.
    assert_eq!(owner.me().await.status, StatusCode::OK);
}

async fn forwarded_addresses_count_only_behind_a_trusted_proxy(db: &TestDb) {
    let files = FileStore::open(db.dir.path()).expect("file store");
    let security = Security {
        secure_cookies: false,
        trusted_proxies: TrustedProxies::new(vec!["127.0.0.1".parse().expect("range")]),
        ..Security::default()
    };
    let state = ServerState::with_security(db.store.clone(), files, security);
    let proxied = Browser::new(&state, [127, 0, 0, 1], FIREFOX);
    let direct = Browser::new(&state, [192, 0, 2, 7], FIREFOX);
    let cases = [
        (
            proxied,
            "gina",
            "203.0.113.50",
            "the proxy's forwarded address",
        ),
        (
            direct,
            "gus",
            "192.0.2.7",
            "a client cannot claim an address",
        ),
    ];
    for (mut browser, username, expected, why) in cases {
        let reply = browser
            .send(
                Request::post("/api/register")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header("x-forwarded-for", "203.0.113.50"),
                format!("username={username}&password=violet+tractor+sings"),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        // --insecure-cookies: no prefix, no Secure.
        let set = reply.header(header::SET_COOKIE);
        assert!(set.starts_with("atelier_session="), "{set}");
        assert!(!set.contains("Secure"));
        let token = set
            .strip_prefix("atelier_session=")
            .and_then(|rest| rest.split(';').next())
            .expect("token")
            .to_string();
        let reply = browser
            .send(
                Request::get("/api/sessions")
                    .header(header::COOKIE, format!("atelier_session={token}")),
                String::new(),
            )
            .await;
        assert_eq!(reply.json()[0]["ip"], expected, "{why}");
    }
}

async fn two_devices_and_revoking_one_logs_it_out(db: &TestDb) {
    let state = state(db);
    let mut laptop = Browser::new(&state, [192, 0, 2, 8], FIREFOX);
    assert_eq!(
        laptop.register("hana", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );
    let mut office = Browser::new(&state, [198, 51, 100, 8], CHROME);
    assert_eq!(
        office.login("hana", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );

    let list = laptop.get("/api/sessions").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    let sessions = list.json();
    let sessions = sessions.as_array().expect("array");
    assert_eq!(sessions.len(), 2);
    let mine = sessions
        .iter()
        .find(|s| s["current"] == true)
        .expect("this one");
    let other = sessions
        .iter()
        .find(|s| s["current"] == false)
        .expect("the other");
    assert_eq!(mine["device"], "Firefox on Linux");
    assert_eq!(mine["ip"], "192.0.2.8");
    assert_eq!(other["device"], "Chrome on Windows");
    assert_eq!(other["ip"], "198.51.100.8");
    for key in ["id", "created_at", "last_seen_at"] {
        assert!(other[key].is_string(), "{key}");
    }

    let other_id = other["id"].as_str().expect("id").to_string();
    let revoked = laptop
        .post("/api/sessions/revoke", &[("id", &other_id)])
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text());
    assert_eq!(office.me().await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(laptop.me().await.status, StatusCode::OK);
    // Revoking it again, or a session that is not mine, finds nothing.
    let again = laptop
        .post("/api/sessions/revoke", &[("id", &other_id)])
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let mut stranger = Browser::new(&state, [198, 51, 100, 9], CHROME);
    stranger.register("ivan", GOOD_PASSWORD).await;
    let theirs = stranger.get("/api/sessions").await.json()[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(
        laptop
            .post("/api/sessions/revoke", &[("id", &theirs)])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(stranger.me().await.status, StatusCode::OK);

    // "Log out everywhere else".
    let mut tablet = Browser::new(&state, [198, 51, 100, 10], CHROME);
    tablet.login("hana", GOOD_PASSWORD).await;
    let mut phone = Browser::new(&state, [198, 51, 100, 11], CHROME);
    phone.login("hana", GOOD_PASSWORD).await;
    let ended = laptop.post("/api/sessions/revoke-others", &[]).await;
    assert_eq!(ended.json(), json!(2));
    assert_eq!(tablet.me().await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(phone.me().await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(laptop.me().await.status, StatusCode::OK);

    // Revoking this very session is logging out.
    let own = laptop.get("/api/sessions").await.json()[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let out = laptop.post("/api/sessions/revoke", &[("id", &own)]).await;
    assert_eq!(out.status, StatusCode::OK);
    assert!(laptop.cookie.is_none(), "the cookie is cleared");
    assert_eq!(
        laptop.get("/api/sessions").await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn a_new_password_ends_the_other_sessions(db: &TestDb) {
    let state = state(db);
    let mut here = Browser::new(&state, [192, 0, 2, 12], FIREFOX);
    assert_eq!(
        here.register("jules", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );
    let mut there = Browser::new(&state, [198, 51, 100, 12], CHROME);
    there.login("jules", GOOD_PASSWORD).await;

    let change = |current: &'static str, new: &'static str, confirm: &'static str| {
        [
            ("current", current),
            ("password", new),
            ("confirm", confirm),
        ]
    };
    let wrong = here
        .post(
            "/api/password",
            &change("not it at all", "amber lantern hums", "amber lantern hums"),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN, "{}", wrong.text());
    let common = here
        .post(
            "/api/password",
            &change(GOOD_PASSWORD, "iloveyou", "iloveyou"),
        )
        .await;
    assert_eq!(common.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        there.me().await.status,
        StatusCode::OK,
        "nothing changed yet"
    );

    let changed = here
        .post(
            "/api/password",
            &change(GOOD_PASSWORD, "amber lantern hums", "amber lantern hums"),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    assert_eq!(there.me().await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(here.me().await.status, StatusCode::OK);

    let mut later = Browser::new(&state, [198, 51, 100, 13], CHROME);
    assert_eq!(
        later.login("jules", GOOD_PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        later.login("jules", "amber lantern hums").await.status,
        StatusCode::OK
    );
    assert_eq!(
        Browser::new(&state, [198, 51, 100, 14], CHROME)
            .post("/api/password", &change(GOOD_PASSWORD, "x", "x"))
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "only for the logged in"
    );
}

async fn a_disabled_account_is_refused_and_logged_out_at_once(db: &TestDb) {
    let state = state(db);
    let mut kim = Browser::new(&state, [192, 0, 2, 14], FIREFOX);
    assert_eq!(
        kim.register("kim", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );
    assert_eq!(kim.me().await.status, StatusCode::OK);

    admin::set_status(db.store.as_ref(), "kim", UserStatus::Disabled)
        .await
        .expect("disable");
    assert_eq!(kim.me().await.status, StatusCode::UNAUTHORIZED);
    let refused = kim.login("kim", GOOD_PASSWORD).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.json()["message"]
        .as_str()
        .unwrap_or_default()
        .contains("disabled"));
    assert_eq!(
        session_cookie(&refused),
        None,
        "no session for a disabled account"
    );
    // A wrong password still says only "wrong".
    assert_eq!(
        kim.login("kim", "not her password").await.status,
        StatusCode::UNAUTHORIZED
    );

    admin::set_status(db.store.as_ref(), "kim", UserStatus::Enabled)
        .await
        .expect("enable");
    assert_eq!(kim.login("kim", GOOD_PASSWORD).await.status, StatusCode::OK);
}

async fn an_old_hash_is_upgraded_at_the_next_login(db: &TestDb) {
    let state = state(db);
    let old = app::auth::password::hash_with_params(GOOD_PASSWORD, 8192, 1, 1).expect("hash");
    db.store
        .create_user(&NewUser {
            public_id: "oldHashUser1".into(),
            username: "olga".into(),
            password_hash: Some(old.clone()),
            role: Role::User,
            created_at: chrono::Utc::now(),
        })
        .await
        .expect("user");
    let stored = |db: &TestDb| {
        let store = db.store.clone();
        async move {
            store
                .find_credentials("olga")
                .await
                .expect("find")
                .and_then(|c| c.password_hash)
                .expect("hash")
        }
    };
    let mut olga = Browser::new(&state, [192, 0, 2, 19], FIREFOX);
    assert_eq!(
        olga.login("olga", "not the password").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(stored(db).await, old, "a failed login changes nothing");
    assert_eq!(
        olga.login("olga", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );
    let upgraded = stored(db).await;
    assert!(
        upgraded.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{upgraded}"
    );
    // The new hash works, and the session started with the old one lives on.
    assert_eq!(olga.me().await.status, StatusCode::OK);
    let mut again = Browser::new(&state, [192, 0, 2, 20], FIREFOX);
    assert_eq!(
        again.login("olga", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );
    assert_eq!(olga.me().await.status, StatusCode::OK);
}

async fn registration_can_be_closed(db: &TestDb) {
    let state = state(db);
    let mut visitor = Browser::new(&state, [192, 0, 2, 15], FIREFOX);
    assert_eq!(
        visitor.get("/api/instance").await.json(),
        json!({"registration": "open"})
    );
    admin::set_setting(db.store.as_ref(), "registration_mode", "closed")
        .await
        .expect("close");
    assert_eq!(
        visitor.get("/api/instance").await.json(),
        json!({"registration": "closed"})
    );
    let refused = visitor.register("lena", GOOD_PASSWORD).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.text().contains("registration is closed"));
    let page = visitor.get("/register").await.text();
    assert!(page.contains("Registration is closed"), "{page}");
    assert!(!page.contains(r#"action="/api/register""#));

    // The CLI can still create accounts.
    let made = admin::create_user(
        db.store.as_ref(),
        "lena",
        false,
        admin::NewPassword::Given(GOOD_PASSWORD.into()),
    )
    .await
    .expect("create");
    assert_eq!(
        made.user.role,
        Role::User,
        "only --admin makes an admin, first account or not"
    );
    assert_eq!(
        visitor.login("lena", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );
}

async fn cross_site_writes_are_refused(db: &TestDb) {
    let state = state(db);
    let mut victim = Browser::new(&state, [192, 0, 2, 16], FIREFOX);
    victim.register("mona", GOOD_PASSWORD).await;
    let forged = [
        ("sec-fetch-site", "cross-site"),
        // A sibling subdomain is the same site, but may be someone else's.
        ("sec-fetch-site", "same-site"),
        ("origin", "https://evil.example"),
        // This host over another scheme is another origin.
        ("origin", "https://atelier.test"),
    ];
    for (name, value) in forged {
        for uri in ["/api/logout", "/api/sessions/revoke-others", "/api/login"] {
            let reply = victim
                .send(
                    Request::post(uri)
                        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                        .header(name, value),
                    "username=mona&password=violet+tractor+sings".into(),
                )
                .await;
            assert_eq!(
                reply.status,
                StatusCode::FORBIDDEN,
                "{uri} with {name}: {value}"
            );
            assert_eq!(error_kind(&reply), "forbidden");
        }
    }
    assert_eq!(victim.me().await.status, StatusCode::OK, "still logged in");
}

/// Every byte the database keeps about users and sessions, as text.
async fn account_tables(db: &TestDb) -> Vec<u8> {
    if db.store.backend() == "postgres" {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url)
            .await
            .expect("connect");
        let dump: String = sqlx::query_scalar(
            "SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM (
                SELECT row_to_json(u)::text AS t FROM users u
                UNION ALL SELECT row_to_json(s)::text FROM user_sessions s
                UNION ALL SELECT encode(token_hash, 'escape') FROM user_sessions) x",
        )
        .fetch_one(&mut conn)
        .await
        .expect("dump");
        dump.into_bytes()
    } else {
        // The database file and its write-ahead log, byte for byte.
        let mut bytes = Vec::new();
        for name in ["atelier.db", "atelier.db-wal"] {
            if let Ok(more) = std::fs::read(db.dir.path().join(name)) {
                bytes.extend(more);
            }
        }
        bytes
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn the_database_never_holds_a_session_token_or_a_password(db: &TestDb) {
    let state = state(db);
    let mut nina = Browser::new(&state, [192, 0, 2, 17], FIREFOX);
    let password = "quartz-meadow-4471-unique";
    assert_eq!(nina.register("nina", password).await.status, StatusCode::OK);
    let first = nina.cookie.clone().expect("token");
    nina.login("nina", password).await;
    let second = nina.cookie.clone().expect("token");

    let dump = account_tables(db).await;
    assert!(contains(&dump, b"nina"), "the dump is readable");
    assert!(contains(&dump, b"$argon2id$"), "the hash is there");
    assert!(!contains(&dump, password.as_bytes()), "the password is not");
    for token in [first, second] {
        assert!(
            !contains(&dump, token.as_bytes()),
            "a session token is stored"
        );
        let raw = base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            token.as_bytes(),
        )
        .expect("base64");
        assert!(!contains(&dump, &raw), "a raw token is stored");
    }
}

async fn markup_in_prompts_and_usernames_renders_inert(db: &TestDb) {
    let state = state(db);
    let attack = "</script><script>alert(1)</script>";
    let mut visitor = Browser::new(&state, [192, 0, 2, 18], FIREFOX);
    let refused = visitor.register(attack, GOOD_PASSWORD).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);

    // Names that arrived another way (an import, an older version) still render inert.
    let owner = db
        .store
        .create_user(&NewUser {
            public_id: "xssUser00001".into(),
            username: attack.into(),
            password_hash: None,
            role: Role::User,
            created_at: chrono::Utc::now(),
        })
        .await
        .expect("user");
    db.store
        .insert_assets(&[NewAsset {
            public_id: "xssAsset0001".into(),
            owner: owner.id,
            title: format!("title {attack}"),
            prompt: format!("prompt {attack}"),
            model: Some(attack.into()),
            media_type: MediaType::Image,
            file: None,
            thumb: None,
            width: Some(10),
            height: Some(10),
            duration_ms: None,
            tags: vec![attack.to_lowercase()],
            created_at: chrono::Utc::now(),
            negative_prompt: format!("negative {attack}"),
            visibility: app::model::Visibility::Public,
            original_filename: Some(format!("{attack}.png")),
            preview: None,
            generation: None,
            raw_metadata: None,
            metadata_dropped: None,
            parser_version: 0,
        }])
        .await
        .expect("asset");
    for uri in ["/", "/a/xssAsset0001"] {
        let page = visitor.get(uri).await;
        assert_eq!(page.status, StatusCode::OK, "{uri}");
        let html = page.text();
        assert!(
            html.contains("&lt;/script&gt;") || html.contains("\\u003c/script"),
            "{uri}: the text is shown"
        );
        assert!(!html.contains("<script>alert(1)"), "{uri}: {html}");
        assert!(!html.contains("</script><script>"), "{uri}");
    }
}

async fn a_fresh_instance_is_claimed_only_through_its_setup_link(db: &TestDb) {
    let state = state(db);
    let link = state.accounts.setup.arm();
    // A stranger who finds the instance first gets an ordinary account.
    let mut stranger = Browser::new(&state, [203, 0, 113, 9], CHROME);
    let first = stranger.register("early-bird", GOOD_PASSWORD).await;
    assert_eq!(first.json()["role"], "user", "{}", first.text());
    // A guessed token is refused, and the account is not made.
    let mut guess = stranger
        .post(
            "/api/register",
            &[
                ("username", "guesser"),
                ("password", GOOD_PASSWORD),
                ("setup", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            ],
        )
        .await;
    assert_eq!(guess.status, StatusCode::FORBIDDEN, "{}", guess.text());
    assert!(guess.text().contains("setup link"), "{}", guess.text());
    assert!(db.store.find_user("guesser").await.expect("find").is_none());

    // The owner opens the link the server printed: the page says what it is for.
    let mut owner = Browser::new(&state, [192, 0, 2, 40], FIREFOX);
    let page = owner.get(&format!("/register?setup={link}")).await;
    assert!(
        page.text()
            .contains("Create this instance&#x27;s admin account")
            || page.text().contains("Create this instance's admin account"),
        "{}",
        page.text()
    );
    assert!(
        page.text().contains("name=\"setup\""),
        "the token rides along"
    );
    // A name already taken: refused, and the link still works.
    guess = owner
        .post(
            "/api/register",
            &[
                ("username", "early-bird"),
                ("password", GOOD_PASSWORD),
                ("setup", link.as_str()),
            ],
        )
        .await;
    assert_eq!(guess.status, StatusCode::CONFLICT, "{}", guess.text());
    let made = owner
        .post(
            "/api/register",
            &[
                ("username", "owner"),
                ("password", GOOD_PASSWORD),
                ("setup", link.as_str()),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.text());
    assert_eq!(made.json(), json!({"username": "owner", "role": "admin"}));
    assert!(db.store.has_admin().await.expect("has admin"));
    // Used once, it works no more.
    let mut late = Browser::new(&state, [192, 0, 2, 41], FIREFOX);
    let again = late
        .post(
            "/api/register",
            &[
                ("username", "second-owner"),
                ("password", GOOD_PASSWORD),
                ("setup", link.as_str()),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::FORBIDDEN, "{}", again.text());
}

async fn a_hundred_guesses_at_once_get_ten_password_checks(db: &TestDb) {
    let state = state(db);
    let mut owner = Browser::new(&state, [192, 0, 2, 16], FIREFOX);
    assert_eq!(
        owner.register("hazel", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );
    let checked_before = state.accounts.passwords.verifications();

    // A hundred wrong passwords sent together, before the first has been verified.
    let attacker = Browser::new(&state, [203, 0, 113, 77], CHROME);
    let guesses = (0..100).map(|n| {
        let mut attacker = attacker.clone();
        tokio::spawn(async move { attacker.login("hazel", &format!("guess {n} of many")).await })
    });
    let mut refused = 0;
    let mut wrong = 0;
    for guess in guesses {
        let reply = guess.await.expect("guess");
        match reply.status {
            StatusCode::UNAUTHORIZED => wrong += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                refused += 1;
                let retry: u64 = reply
                    .header(header::RETRY_AFTER)
                    .parse()
                    .expect("Retry-After in seconds");
                assert!((1..=60).contains(&retry), "{retry}");
            }
            other => panic!("unexpected {other}: {}", reply.text()),
        }
    }
    assert_eq!((wrong, refused), (10, 90));
    assert_eq!(
        state.accounts.passwords.verifications() - checked_before,
        10,
        "only the attempts that got a place were checked"
    );
    // The account is locked for the window, even with the right password.
    assert_eq!(
        owner.login("hazel", GOOD_PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

async fn a_right_password_gives_its_place_back(db: &TestDb) {
    let state = state(db);
    let mut ivan = Browser::new(&state, [192, 0, 2, 17], FIREFOX);
    assert_eq!(
        ivan.register("ivan", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );
    // Logging in again and again from one address is not an attack: each success is
    // taken back out of the count.
    for round in 0..15 {
        let reply = ivan.login("ivan", GOOD_PASSWORD).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "login {round}: {}",
            reply.text()
        );
    }
}

async fn registering_and_searching_are_limited_per_address(db: &TestDb) {
    let files = FileStore::open(db.dir.path()).expect("file store");
    let security = Security {
        rate_limits: RateLimits {
            register: Rate::per_hour(3),
            search: Rate::per_minute(5),
            ..RateLimits::default()
        },
        ..Security::default()
    };
    let state = ServerState::with_security(db.store.clone(), files, security);

    // One address registers three accounts; the fourth waits twenty minutes.
    let mut farm = Browser::new(&state, [198, 51, 100, 3], CHROME);
    for name in ["bot-one", "bot-two", "bot-three"] {
        let reply = farm.clone().register(name, GOOD_PASSWORD).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    let refused = farm.register("bot-four", GOOD_PASSWORD).await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.text()
    );
    assert_eq!(error_kind(&refused), "too_many_requests");
    assert!(
        refused.json()["message"]
            .as_str()
            .unwrap_or_default()
            .contains("too many accounts registered from your address"),
        "{}",
        refused.text()
    );
    let retry: u64 = refused
        .header(header::RETRY_AFTER)
        .parse()
        .expect("Retry-After in seconds");
    assert!((1190..=1200).contains(&retry), "{retry}");
    assert!(db
        .store
        .find_user("bot-four")
        .await
        .expect("find")
        .is_none());
    // Someone else registers as usual.
    let mut judy = Browser::new(&state, [192, 0, 2, 18], FIREFOX);
    assert_eq!(
        judy.register("judy", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );

    // Five searches in a row, then a pause is asked for; pages that are not searches and
    // other addresses are not affected.
    for n in 0..5 {
        let uri = if n % 2 == 0 { "/api/assets" } else { "/" };
        assert_eq!(farm.get(uri).await.status, StatusCode::OK, "search {n}");
    }
    let sixth = farm.get("/api/assets?q=cat").await;
    assert_eq!(
        sixth.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        sixth.text()
    );
    assert!(sixth.header(header::RETRY_AFTER).parse::<u64>().is_ok());
    assert_eq!(
        farm.get("/t/portrait").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(farm.get("/healthz").await.status, StatusCode::OK);
    assert_eq!(judy.get("/api/assets").await.status, StatusCode::OK);
}

on_both_backends!(
    a_visitor_registers_logs_out_and_logs_in_again,
    a_fresh_instance_is_claimed_only_through_its_setup_link,
    forms_work_without_javascript,
    wrong_password_and_unknown_user_look_the_same,
    ten_failures_in_a_minute_lock_the_door_even_for_the_right_password,
    a_hundred_guesses_at_once_get_ten_password_checks,
    a_right_password_gives_its_place_back,
    registering_and_searching_are_limited_per_address,
    forwarded_addresses_count_only_behind_a_trusted_proxy,
    two_devices_and_revoking_one_logs_it_out,
    a_new_password_ends_the_other_sessions,
    a_disabled_account_is_refused_and_logged_out_at_once,
    an_old_hash_is_upgraded_at_the_next_login,
    registration_can_be_closed,
    cross_site_writes_are_refused,
    the_database_never_holds_a_session_token_or_a_password,
    markup_in_prompts_and_usernames_renders_inert,
);
