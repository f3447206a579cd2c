use instant_macros::Entity;

#[derive(Entity)]
pub struct Todo {
    pub id: i64,
    pub title: String,
}

fn main() {}
