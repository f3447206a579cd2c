use instant_macros::Entity;

#[derive(Entity)]
struct Todo {
    title: String,
}

fn main() {}
