use instant_macros::Entity;

#[derive(Entity)]
pub struct Todo {
    #[instant(rename = "a", rename = "b")]
    pub title: String,
}

fn main() {}
