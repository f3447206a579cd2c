// Entities in one module, the schema in another (paths with `crate::`), a
// private entity next to its schema, the `crate = ..` override, chrono dates,
// typed json, raw identifiers, and a self link.
#![deny(warnings)]

mod model {
    use chrono::{DateTime, Utc};
    use instant_core::{Id, Json};

    #[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
    pub struct Prefs {
        pub dark: bool,
    }

    #[derive(instant_macros::Entity, Debug)]
    #[instant(rename_all = "kebab-case", crate = ::instant_core)]
    pub struct Person {
        pub id: Id,
        #[instant(unique, indexed)]
        pub handle_name: String,
        pub born_at: Option<DateTime<Utc>>,
        pub prefs: Json<Prefs>,
        pub r#type: Option<String>,
        #[instant(skip)]
        pub cache: Vec<u8>,
    }
}

pub mod schema {
    #[derive(instant_macros::Entity)]
    pub struct Note {
        body: String,
    }

    instant_macros::schema! {
        crate = ::instant_core;
        entities {
            people: crate::model::Person,
            notes: Note,
        }
        links {
            people.friends (many) <-> people.friendOf (many),
            notes.author (one, cascade, required) <-> people.notes (many),
        }
    }

    pub fn note_query() -> serde_json::Value {
        use instant_core::typed::TypedQuery;
        Note::query().to_query().unwrap().to_json()
    }
}

use instant_core::typed::TypedQuery;
use schema::{people, tx};

#[derive(instant_macros::Select, Debug)]
#[instant(entity = people)]
struct Friend {
    handle_name: String,
    friend_of: Vec<Friend2>,
}

#[derive(instant_macros::Select, Debug)]
#[instant(entity = schema::people, crate = ::instant_core)]
struct Friend2 {
    #[instant(rename = "handle_name")]
    handle: String,
    r#type: Option<String>,
}

fn main() {
    let q = Friend::query()
        .filter(people::friends.dot(people::handle_name).eq("ann"))
        .to_query()
        .unwrap()
        .to_json();
    assert_eq!(
        q,
        serde_json::json!({"people": {
            "$": {"where": {"friends.handle-name": "ann"}, "fields": ["handle-name"]},
            "friendOf": {"$": {"fields": ["handle-name", "type"]}}
        }})
    );
    let s = schema::Schema::to_json();
    assert_eq!(s["links"]["peopleFriends"]["reverse"]["label"], "friendOf");
    assert_eq!(s["links"]["notesAuthor"]["forward"]["required"], true);
    assert_eq!(s["entities"]["people"]["attrs"]["born-at"]["valueType"], "date");
    let _ = schema::note_query();
    let id = instant_core::Id::new();
    let _ = tx::people(people::handle_name.lookup("ann"))
        .update(|a| {
            a.set(people::prefs, model::Prefs { dark: true })
                .set(people::born_at, chrono::Utc::now())
                .unset(people::r#type)
        })
        .link(people::friends, vec![id])
        .link(people::notes, [id]);
}
