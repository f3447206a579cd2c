//! The built-in system catalog: the attributes and links Instant defines for the
//! `$`-namespaces (`$users`, `$files`, `$streams`, auth bookkeeping), as an
//! [`instant_core::Schema`].
//!
//! Mirrors `server/src/instant/system_catalog.clj` (attrs, flags, checked types,
//! cascade) plus the `$streams` namespace of backup-format.md §3.4. A backup's
//! `config.schema` lists only some of these (and hides e.g. `$files.location-id`),
//! yet entity lines carry all of them, so the reader treats the catalog as
//! always present, as the official restore does.

use std::sync::OnceLock;

use instant_core::{AttrDef, EntityDef, LinkDef, LinkSide, Schema};

/// True for reserved namespace names (`$users`, `$files`, ...): they start with `$`.
pub fn is_system_namespace(namespace: &str) -> bool {
    namespace.starts_with('$')
}

fn s() -> AttrDef {
    AttrDef::string().optional()
}
fn any() -> AttrDef {
    AttrDef::json().optional()
}

fn build() -> Schema {
    let ent = |attrs: Vec<(&str, AttrDef)>| {
        attrs
            .into_iter()
            .fold(EntityDef::new(), |e, (k, a)| e.attr(k, a))
    };
    let one_cascade = |on: &str, label: &str, ron: &str, rlabel: &str| {
        LinkDef::new(
            LinkSide::one(on, label).cascade(),
            LinkSide::many(ron, rlabel),
        )
    };
    Schema::new()
        .entity(
            "$users",
            ent(vec![
                ("email", s().unique().indexed()),
                ("type", s()),
                ("imageURL", s()),
            ]),
        )
        .entity(
            "$magicCodes",
            ent(vec![("codeHash", s().indexed()), ("email", s().indexed())]),
        )
        .entity(
            "$userRefreshTokens",
            ent(vec![("hashedToken", s().unique().indexed())]),
        )
        .entity(
            "$oauthProviders",
            ent(vec![("name", s().unique().indexed())]),
        )
        .entity(
            "$oauthUserLinks",
            ent(vec![
                ("sub", s().indexed()),
                ("sub+$oauthProvider", s().unique().indexed()),
            ]),
        )
        .entity(
            "$oauthClients",
            ent(vec![
                ("name", s().unique().indexed()),
                ("clientId", any().indexed()),
                ("encryptedClientSecret", s()),
                ("discoveryEndpoint", s()),
                ("meta", any()),
            ]),
        )
        .entity(
            "$oauthCodes",
            ent(vec![
                ("codeHash", s().unique().indexed()),
                ("codeChallengeMethod", s()),
                ("codeChallenge", s()),
                ("userInfo", any()),
            ]),
        )
        .entity(
            "$oauthRedirects",
            ent(vec![
                ("stateHash", s().unique().indexed()),
                ("cookieHash", s()),
                ("redirectUrl", s()),
                ("codeChallengeMethod", s()),
                ("codeChallenge", s()),
            ]),
        )
        .entity(
            "$files",
            ent(vec![
                ("path", AttrDef::string().unique().indexed()),
                ("size", AttrDef::number().indexed()),
                ("content-type", s().indexed()),
                ("content-disposition", s().indexed()),
                ("location-id", AttrDef::string().unique().indexed()),
                ("key-version", AttrDef::number().optional()),
                ("url", s()),
            ]),
        )
        .entity(
            "$streams",
            ent(vec![
                ("clientId", AttrDef::string().unique().indexed()),
                // Not in system_catalog.clj of the pinned checkout; left untyped.
                ("machineId", any()),
                ("hashedReconnectToken", any()),
                ("done", AttrDef::boolean().optional()),
                ("size", AttrDef::number().optional()),
                ("abortReason", s()),
            ]),
        )
        .link(
            "$usersLinkedPrimaryUser",
            one_cascade("$users", "linkedPrimaryUser", "$users", "linkedGuestUsers"),
        )
        .link(
            "$userRefreshTokens$user",
            one_cascade(
                "$userRefreshTokens",
                "$user",
                "$users",
                "$userRefreshTokens",
            ),
        )
        .link(
            "$oauthUserLinks$user",
            one_cascade("$oauthUserLinks", "$user", "$users", "$oauthUserLinks"),
        )
        .link(
            "$oauthUserLinks$oauthProvider",
            one_cascade(
                "$oauthUserLinks",
                "$oauthProvider",
                "$oauthProviders",
                "$oauthUserLinks",
            ),
        )
        .link(
            "$oauthClients$oauthProvider",
            one_cascade(
                "$oauthClients",
                "$oauthProvider",
                "$oauthProviders",
                "$oauthClients",
            ),
        )
        .link(
            "$oauthCodes$oauthClient",
            one_cascade(
                "$oauthCodes",
                "$oauthClient",
                "$oauthClients",
                "$oauthCodes",
            ),
        )
        .link(
            "$oauthRedirects$oauthClient",
            one_cascade(
                "$oauthRedirects",
                "$oauthClient",
                "$oauthClients",
                "$oauthRedirects",
            ),
        )
        .link(
            "$streams$files",
            LinkDef::new(
                LinkSide::many("$streams", "$files"),
                LinkSide::one("$files", "$stream").cascade(),
            ),
        )
}

/// The system catalog: every system namespace with its built-in attributes (never
/// `id`) and the built-in links between system namespaces.
pub fn catalog() -> &'static Schema {
    static CATALOG: OnceLock<Schema> = OnceLock::new();
    CATALOG.get_or_init(build)
}

/// The built-in link whose forward side is `namespace.label`, if any.
pub fn forward_link(namespace: &str, label: &str) -> Option<&'static LinkDef> {
    catalog()
        .links
        .values()
        .find(|l| l.forward.on == namespace && l.forward.label == label)
}

/// Removes what the system catalog defines from a backup's `config.schema`, as the
/// official restore does before applying it: built-in attrs of system namespaces,
/// built-in links, and system namespaces left without custom attrs. Custom attrs on
/// system namespaces and user links that touch them are kept.
pub fn strip_system(schema: &Schema) -> Schema {
    let cat = catalog();
    let mut out = schema.clone();
    out.entities.retain(|ns, def| {
        if let Some(builtin) = cat.entities.get(ns) {
            def.attrs.retain(|k, _| !builtin.attrs.contains_key(k));
        }
        !(is_system_namespace(ns) && def.attrs.is_empty())
    });
    out.links
        .retain(|_, l| forward_link(&l.forward.on, &l.forward.label).is_none());
    out
}
