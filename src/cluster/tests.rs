use super::*;

fn nodes(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

#[test]
fn a_subject_names_its_resource_one_to_one() {
    for text in ["svc/api", "hub/a.b/c_d-e", "x", "a/b/c/d/e/f/g/h"] {
        let id = ResourceId::parse(text).unwrap();
        let subject = subject(&id);
        assert!(subject.starts_with("fillstack.r."), "{subject}");
        assert!(
            subject["fillstack.r.".len()..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{subject} has no separator or wildcard in its token"
        );
        assert_eq!(resource_of(&subject), Some(id));
    }
    assert_eq!(resource_of("fillstack.r.!!"), None);
    assert_eq!(resource_of("other.subject"), None);
}

#[test]
fn every_hub_picks_the_same_owner_and_a_leaving_node_moves_only_its_own_duties() {
    let three = nodes(&["hub-a", "hub-b", "hub-c"]);
    let two = nodes(&["hub-a", "hub-c"]);
    let mut owned = std::collections::HashMap::<&str, usize>::new();
    for n in 0..3000 {
        let key = format!("svc/{n}");
        let before = owner(&three, &key).unwrap();
        let reversed: Vec<String> = three.iter().rev().cloned().collect();
        assert_eq!(
            owner(&reversed, &key),
            Some(before),
            "order of the list matters not"
        );
        *owned.entry(before).or_default() += 1;
        let after = owner(&two, &key).unwrap();
        if before != "hub-b" {
            assert_eq!(after, before, "{key} moved although its owner stayed");
        }
    }
    for (node, count) in owned {
        assert!((800..1200).contains(&count), "{node} owns {count} of 3000");
    }
    assert_eq!(owner(&[], "svc/x"), None);
}
