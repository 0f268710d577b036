//! Editing an asset on its page (its owner, or an admin): title, prompt, negative prompt,
//! model, tags (with suggestions) and visibility. A plain form that posts without
//! JavaScript and comes back to the page; hydrated, it saves in place and the page shows
//! the new values.

use leptos::prelude::*;

use super::notice::ErrorNotice;
use crate::api::UpdateAsset;
use crate::model::{AssetDetail, Visibility};
use crate::upload::{MAX_MODEL_LEN, MAX_PROMPT_LEN, MAX_TITLE_LEN};

#[component]
pub fn EditForm(asset: AssetDetail, update: ServerAction<UpdateAsset>) -> impl IntoView {
    let s = asset.summary;
    let error = move || {
        update
            .value()
            .get()
            .and_then(Result::err)
            .map(|error| view! { <ErrorNotice error/> })
    };
    let suggestions = RwSignal::new(Vec::<String>::new());
    let visibility = s.visibility;
    // Saved: the form folds away (the page keeps its elements when it shows the new values).
    let details = NodeRef::<leptos::html::Details>::new();
    Effect::new(move || {
        if update.value().get().is_some_and(|saved| saved.is_ok()) {
            if let Some(details) = details.get_untracked() {
                details.set_open(false);
            }
        }
    });
    view! {
        <details class="edit-asset" node_ref=details open=move || update.value().get().is_some_and(|r| r.is_err())>
            <summary>"Edit…"</summary>
            <ActionForm action=update attr:class="edit-form">
                <input type="hidden" name="id" value=s.id.clone()/>
                <div class="field">
                    <label for="edit-title">"Title"</label>
                    <input id="edit-title" name="title" maxlength=MAX_TITLE_LEN required=true value=s.title.clone()/>
                </div>
                <div class="field">
                    <label for="edit-prompt">"Prompt"</label>
                    <textarea id="edit-prompt" name="prompt" rows="4" maxlength=MAX_PROMPT_LEN>{s.prompt.clone()}</textarea>
                </div>
                <div class="field">
                    <label for="edit-negative">"Negative prompt"</label>
                    <textarea id="edit-negative" name="negative_prompt" rows="2" maxlength=MAX_PROMPT_LEN>
                        {asset.negative_prompt.clone()}
                    </textarea>
                </div>
                <div class="field-row">
                    <div class="field">
                        <label for="edit-tags">"Tags"</label>
                        <input id="edit-tags" name="tags" list="edit-tag-suggestions" autocomplete="off"
                            value=s.tags.join(", ")
                            on:input=move |ev| super::upload::suggest(event_target_value(&ev), suggestions)/>
                        <datalist id="edit-tag-suggestions">
                            {move || suggestions.get().into_iter().map(|s| view! { <option value=s></option> }).collect_view()}
                        </datalist>
                    </div>
                    <div class="field">
                        <label for="edit-model">"Model"</label>
                        <input id="edit-model" name="model" maxlength=MAX_MODEL_LEN value=s.model.clone().unwrap_or_default()/>
                    </div>
                    <div class="field">
                        <label for="edit-visibility">"Visibility"</label>
                        <select id="edit-visibility" name="visibility">
                            {Visibility::ALL
                                .map(|v| view! { <option value=v.as_str() selected=v == visibility>{v.label()}</option> })
                                .collect_view()}
                        </select>
                    </div>
                </div>
                <button type="submit" class="button">"Save changes"</button>
            </ActionForm>
            {error}
        </details>
    }
    .into_any()
}
