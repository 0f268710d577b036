//! `/login` and `/register`: plain forms that post to the API. Without JavaScript the
//! server answers with a redirect (to `next`, or back here with the error); hydrated, the
//! error shows inline and the page moves on by itself.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::notice::ErrorNotice;
use crate::account::{RegistrationMode, PASSWORD_MAX, PASSWORD_MIN, USERNAME_MAX, USERNAME_MIN};
use crate::api::{instance, Login, Register};
use crate::components::use_auth;
use crate::error::ApiError;

/// The `next` query parameter, passed through the form.
fn next_param() -> impl Fn() -> String + Copy {
    let query = use_query_map();
    move || query.read().get("next").unwrap_or_default()
}

/// The `setup` query parameter: the token of the link that makes the first admin.
fn setup_param() -> impl Fn() -> String + Copy {
    let query = use_query_map();
    move || query.read().get("setup").unwrap_or_default()
}

/// The error a form's action ended with, if any.
fn action_error<T>(value: Option<Result<T, ApiError>>) -> Option<ApiError> {
    value.and_then(Result::err)
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let auth = use_auth();
    let action = ServerAction::<Login>::new();
    Effect::new(move || {
        if matches!(action.value().get(), Some(Ok(_))) {
            auth.refresh();
        }
    });
    let next = next_param();
    let register_href = move || {
        let next = next();
        if next.is_empty() {
            "/register".to_string()
        } else {
            format!(
                "/register?next={}",
                crate::model::percent_encode(&next, true)
            )
        }
    };
    view! {
        <Title text="Log in · atelier"/>
        <section class="page narrow auth">
            <h1>"Log in"</h1>
            <ActionForm action=action>
                <input type="hidden" name="next" prop:value=next value=next/>
                <div class="field">
                    <label for="login-username">"Username"</label>
                    <input id="login-username" name="username" autocomplete="username" required=true
                        autocapitalize="none" spellcheck="false" maxlength=USERNAME_MAX/>
                </div>
                <div class="field">
                    <label for="login-password">"Password"</label>
                    <input id="login-password" type="password" name="password"
                        autocomplete="current-password" required=true maxlength=PASSWORD_MAX/>
                </div>
                {move || action_error(action.value().get()).map(|error| view! { <ErrorNotice error/> })}
                <button type="submit" class="button primary" aria-busy=move || action.pending().get().to_string()>
                    "Log in"
                </button>
            </ActionForm>
            <p class="aside">"No account yet? " <a href=register_href>"Register"</a></p>
        </section>
    }
}

#[component]
pub fn RegisterPage() -> impl IntoView {
    let info = Resource::new(|| (), |_| instance());
    // The one-time link the server prints while the instance has no admin.
    let setup = setup_param();
    let heading = move || {
        if setup().is_empty() {
            "Create an account"
        } else {
            "Create this instance's admin account"
        }
    };
    view! {
        <Title text="Register · atelier"/>
        <section class="page narrow auth">
            <h1>{heading}</h1>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match info.await {
                        Ok(info)
                            if info.registration == RegistrationMode::Closed
                                && setup().is_empty() =>
                        {
                            view! {
                                <div class="notice" role="status">
                                    <p>"Registration is closed on this instance. Ask its admin for an account."</p>
                                </div>
                            }
                                .into_any()
                        }
                        Ok(_) => view! { <RegisterForm/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Suspense>
            <p class="aside">"Have an account? " <a href="/login">"Log in"</a></p>
        </section>
    }
}

#[component]
fn RegisterForm() -> impl IntoView {
    let auth = use_auth();
    let action = ServerAction::<Register>::new();
    Effect::new(move || {
        if matches!(action.value().get(), Some(Ok(_))) {
            auth.refresh();
        }
    });
    let next = next_param();
    let setup = setup_param();
    let username_hint =
        format!("{USERNAME_MIN}–{USERNAME_MAX} characters: letters a–z, digits, “_” and “-”.");
    let password_hint =
        format!("{PASSWORD_MIN}–{PASSWORD_MAX} characters, not one of the most common passwords.");
    view! {
        <ActionForm action=action>
            <input type="hidden" name="next" prop:value=next value=next/>
            <input type="hidden" name="setup" prop:value=setup value=setup/>
            <div class="field">
                <label for="register-username">"Username"</label>
                <input id="register-username" name="username" autocomplete="username" required=true
                    autocapitalize="none" spellcheck="false" minlength=USERNAME_MIN maxlength=USERNAME_MAX
                    pattern="[A-Za-z0-9_\\-]+" aria-describedby="username-hint"/>
                <p class="hint" id="username-hint">{username_hint}</p>
            </div>
            <div class="field">
                <label for="register-password">"Password"</label>
                <input id="register-password" type="password" name="password" autocomplete="new-password"
                    required=true minlength=PASSWORD_MIN maxlength=PASSWORD_MAX aria-describedby="password-hint"/>
                <p class="hint" id="password-hint">{password_hint}</p>
            </div>
            <div class="field">
                <label for="register-confirm">"Repeat the password"</label>
                <input id="register-confirm" type="password" name="confirm" autocomplete="new-password"
                    required=true minlength=PASSWORD_MIN maxlength=PASSWORD_MAX/>
            </div>
            {move || action_error(action.value().get()).map(|error| view! { <ErrorNotice error/> })}
            <button type="submit" class="button primary" aria-busy=move || action.pending().get().to_string()>
                "Create account"
            </button>
        </ActionForm>
    }
}
