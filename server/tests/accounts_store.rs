//! Accounts, sessions and settings in the store, told once and run on SQLite and Postgres.

mod common;

use app::account::{Role, UserStatus};
use app::store::{EndSessions, NewSession, NewUser, StoreError};
use chrono::{DateTime, Duration, TimeZone, Utc};
use common::TestDb;

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, day, hour, 0, 0)
        .single()
        .expect("valid date")
}

fn account(name: &str, id: &str, password_hash: Option<&str>) -> NewUser {
    NewUser {
        public_id: id.into(),
        username: name.into(),
        password_hash: password_hash.map(str::to_string),
        role: Role::User,
        created_at: at(1, 0),
    }
}

fn session(id: &str, token: u8, now: DateTime<Utc>, device: &str) -> NewSession {
    NewSession {
        public_id: id.into(),
        token_hash: [token; 32],
        created_at: now,
        expires_at: now + Duration::days(30),
        absolute_expires_at: now + Duration::days(365),
        ip: Some("192.0.2.10".into()),
        user_agent: Some(format!("{device} test agent")),
        device: device.into(),
    }
}

async fn accounts_get_the_role_asked_for_and_sessions_live_and_die(db: &TestDb) {
    let store = db.store.as_ref();

    // The first account is no admin by being first.
    let alice = store
        .create_user(&account("alice", "aliceAAAAAAA", Some("$argon2id$alice")))
        .await
        .expect("alice");
    assert_eq!(alice.role, Role::User, "nothing is decided for an account");
    assert!(!store.has_admin().await.expect("has admin"));
    // An admin who cannot log in (no password) does not count as one.
    let mut keyless = account("keyless", "keylessAAAAA", None);
    keyless.role = Role::Admin;
    store.create_user(&keyless).await.expect("keyless");
    assert!(!store.has_admin().await.expect("has admin"));
    let mut root = account("root", "rootAAAAAAAA", Some("$argon2id$root"));
    root.role = Role::Admin;
    assert_eq!(
        store.create_user(&root).await.expect("root").role,
        Role::Admin
    );
    assert!(store.has_admin().await.expect("has admin"));
    // A disabled admin cannot log in either.
    store
        .set_status("root", UserStatus::Disabled)
        .await
        .expect("disable");
    assert!(!store.has_admin().await.expect("has admin"));
    assert_eq!((alice.status, alice.login_count), (UserStatus::Enabled, 0));
    let bob = store
        .create_user(&account("bob", "bobAAAAAAAAA", Some("$argon2id$bob")))
        .await
        .expect("bob");
    assert_eq!(bob.role, Role::User);

    let creds = store
        .find_credentials("BOB")
        .await
        .expect("find")
        .expect("bob exists");
    assert_eq!(creds.password_hash.as_deref(), Some("$argon2id$bob"));
    assert!(store
        .find_credentials("nobody")
        .await
        .expect("find")
        .is_none());

    // Bob logs in from two devices.
    let t0 = at(2, 9);
    let laptop = store
        .start_session(bob.id, &session("sessLaptop01", 1, t0, "Firefox on Linux"))
        .await
        .expect("laptop");
    let phone = store
        .start_session(
            bob.id,
            &session(
                "sessPhone001",
                2,
                t0 + Duration::hours(1),
                "Safari on iPhone",
            ),
        )
        .await
        .expect("phone");
    let bob_now = store.find_user("bob").await.expect("find").expect("bob");
    assert_eq!(bob_now.login_count, 2);
    assert_eq!(bob_now.last_login_at, Some(t0 + Duration::hours(1)));

    assert_ne!(laptop, phone);
    let found = store
        .find_session(&[1; 32], t0 + Duration::minutes(5))
        .await
        .expect("find")
        .expect("live");
    assert_eq!((found.id, found.user.id), (laptop, bob.id));
    assert_eq!(found.public_id, "sessLaptop01");
    assert!(store
        .find_session(&[9; 32], t0)
        .await
        .expect("find")
        .is_none());

    let listed = store
        .list_sessions(bob.id, t0 + Duration::hours(2))
        .await
        .expect("list");
    let devices: Vec<&str> = listed.iter().map(|s| s.device.as_str()).collect();
    assert_eq!(
        devices,
        ["Safari on iPhone", "Firefox on Linux"],
        "most recent first"
    );
    assert_eq!(listed[0].ip.as_deref(), Some("192.0.2.10"));

    // Idle for 30 days: gone. Used now and then: slides, but never past a year.
    let idle_end = t0 + Duration::days(30);
    assert!(store
        .find_session(&[1; 32], idle_end)
        .await
        .expect("find")
        .is_none());
    store
        .touch_session(laptop, t0 + Duration::days(20), t0 + Duration::days(50))
        .await
        .expect("touch");
    let slid = store
        .find_session(&[1; 32], idle_end + Duration::days(1))
        .await
        .expect("find")
        .expect("still live");
    assert_eq!(slid.last_seen_at, t0 + Duration::days(20));
    assert!(store
        .find_session(&[1; 32], t0 + Duration::days(366))
        .await
        .expect("find")
        .is_none());

    // Someone else cannot revoke Bob's session; Bob can.
    assert!(!store
        .revoke_session(alice.id, "sessPhone001")
        .await
        .expect("revoke"));
    assert!(store
        .revoke_session(bob.id, "sessPhone001")
        .await
        .expect("revoke"));
    assert!(store
        .find_session(&[2; 32], t0 + Duration::hours(2))
        .await
        .expect("find")
        .is_none());
    assert!(!store
        .revoke_session(bob.id, "sessPhone001")
        .await
        .expect("again"));

    // A new password ends the other sessions, keeping this one.
    let tablet = store
        .start_session(bob.id, &session("sessTablet01", 3, t0, "Chrome on Android"))
        .await
        .expect("tablet");
    store
        .set_password(bob.id, "$argon2id$bob2", EndSessions::AllExcept(tablet))
        .await
        .expect("change");
    let now = t0 + Duration::hours(3);
    assert!(store
        .find_session(&[1; 32], now)
        .await
        .expect("find")
        .is_none());
    assert!(store
        .find_session(&[3; 32], now)
        .await
        .expect("find")
        .is_some());
    // A rehash keeps every session.
    store
        .set_password(bob.id, "$argon2id$bob3", EndSessions::None)
        .await
        .expect("rehash");
    assert!(store
        .find_session(&[3; 32], now)
        .await
        .expect("find")
        .is_some());
    assert_eq!(
        store
            .find_credentials("bob")
            .await
            .expect("find")
            .expect("bob")
            .password_hash
            .as_deref(),
        Some("$argon2id$bob3")
    );

    // Log out everywhere else, then log out.
    let other = store
        .start_session(bob.id, &session("sessOther001", 4, t0, "curl"))
        .await
        .expect("other");
    assert_eq!(
        store
            .revoke_other_sessions(bob.id, Some(tablet))
            .await
            .expect("others"),
        1
    );
    assert!(store
        .find_session(&[4; 32], now)
        .await
        .expect("find")
        .is_none());
    let _ = other;
    assert!(store.end_session(&[3; 32]).await.expect("logout"));
    assert!(!store.end_session(&[3; 32]).await.expect("twice"));

    // Disabling ends every session at once and hides the account from find_session.
    store
        .start_session(bob.id, &session("sessAgain001", 5, t0, "curl"))
        .await
        .expect("again");
    let disabled = store
        .set_status("BOB", UserStatus::Disabled)
        .await
        .expect("disable")
        .expect("bob");
    assert_eq!(disabled.status, UserStatus::Disabled);
    assert!(store
        .find_session(&[5; 32], now)
        .await
        .expect("find")
        .is_none());
    assert!(store
        .list_sessions(bob.id, now)
        .await
        .expect("list")
        .is_empty());
    assert!(store
        .set_status("nobody", UserStatus::Disabled)
        .await
        .expect("none")
        .is_none());

    let promoted = store
        .set_role("bob", Role::Admin)
        .await
        .expect("role")
        .expect("bob");
    assert_eq!(promoted.role, Role::Admin);
    let names: Vec<String> = store
        .list_accounts()
        .await
        .expect("list")
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(
        names,
        ["alice", "root", "bob"],
        "accounts without a password (demo users) cannot log in"
    );

    // Expired sessions are swept.
    store
        .start_session(alice.id, &session("sessOld00001", 6, t0, "curl"))
        .await
        .expect("old");
    assert_eq!(
        store
            .delete_expired_sessions(t0 + Duration::days(31))
            .await
            .expect("sweep"),
        1
    );

    // A session token is unique: the same hash twice is a conflict, not a second login.
    store
        .start_session(alice.id, &session("sessNew00001", 7, now, "curl"))
        .await
        .expect("new");
    let duplicate = store
        .start_session(alice.id, &session("sessNew00002", 7, now, "curl"))
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict(_))),
        "{duplicate:?}"
    );
}

async fn settings_are_seeded_and_changeable(db: &TestDb) {
    let store = db.store.as_ref();
    assert_eq!(
        store
            .get_setting("registration_mode")
            .await
            .expect("get")
            .as_deref(),
        Some("open"),
        "seeded by the migration"
    );
    store
        .set_setting("registration_mode", "closed", at(3, 0))
        .await
        .expect("set");
    let settings = store.list_settings().await.expect("list");
    let names: Vec<&str> = settings.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "max_image_size",
            "max_video_size",
            "registration_mode",
            "upload_expiry_hours",
            "upload_quota",
            "usage_retention_days",
            "usage_tracking"
        ],
        "every setting has a row, in key order"
    );
    assert!(settings.contains(&("registration_mode".to_string(), "closed".to_string())));
    assert!(settings.contains(&("upload_quota".to_string(), "2GiB".to_string())));
    assert_eq!(store.get_setting("nope").await.expect("get"), None);
}

on_both_backends!(
    accounts_get_the_role_asked_for_and_sessions_live_and_die,
    settings_are_seeded_and_changeable,
);
