use instant_macros::Entity;

#[derive(Entity)]
pub enum Todo {
    A,
}

#[derive(Entity)]
pub struct Pair(String, bool);

fn main() {}
