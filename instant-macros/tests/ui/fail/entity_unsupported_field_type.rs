use instant_macros::Entity;

#[derive(Entity)]
pub struct Todo {
    pub title: String,
    pub big: u128,
}

fn main() {}
