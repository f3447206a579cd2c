use instant_macros::Entity;

#[derive(Entity)]
#[instant(rename_all = "camelcase")]
pub struct Todo {
    #[instant(uniq)]
    pub title: String,
    #[instant(indexed, indexed)]
    pub done: bool,
    #[instant(rename = "title")]
    pub other: String,
}

fn main() {}
