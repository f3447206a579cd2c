use instant_macros::Entity;

#[derive(Entity)]
pub struct Todo {
    #[instant(indexd)]
    pub title: String,
}

fn main() {}
