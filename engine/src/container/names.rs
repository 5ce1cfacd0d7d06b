//! Generated container names, docker's `adjective_surname` made Brazilian:
//! `curiosa_capivara`, `valente_tatu`, `serena_estrela-do-mar`.
//!
//! The adjective agrees with the animal's gender (`curioso_tatu`,
//! `curiosa_arara`), and every word is spelled right in plain ASCII (a
//! name is only letters, digits, `_`, `.` and `-`): so no `onça` or
//! `jacaré`, whose accents would be lost. 77 adjectives × 132 animals =
//! 10 164 names (docker has about 25 000); when the one picked is taken (two `casulo run`
//! at once, or an old container), create tries the next one
//! ([`generated_name`]'s `attempt`).

/// Masculine and feminine form of each adjective.
const ADJECTIVES: &[(&str, &str)] = &[
    ("alegre", "alegre"),
    ("animado", "animada"),
    ("astuto", "astuta"),
    ("atencioso", "atenciosa"),
    ("atento", "atenta"),
    ("audaz", "audaz"),
    ("bondoso", "bondosa"),
    ("bonito", "bonita"),
    ("brilhante", "brilhante"),
    ("calmo", "calma"),
    ("caloroso", "calorosa"),
    ("caprichoso", "caprichosa"),
    ("carinhoso", "carinhosa"),
    ("charmoso", "charmosa"),
    ("cheiroso", "cheirosa"),
    ("corajoso", "corajosa"),
    ("cordial", "cordial"),
    ("criativo", "criativa"),
    ("cuidadoso", "cuidadosa"),
    ("curioso", "curiosa"),
    ("dedicado", "dedicada"),
    ("destemido", "destemida"),
    ("divertido", "divertida"),
    ("doce", "doce"),
    ("educado", "educada"),
    ("elegante", "elegante"),
    ("engenhoso", "engenhosa"),
    ("esperto", "esperta"),
    ("estudioso", "estudiosa"),
    ("faceiro", "faceira"),
    ("famoso", "famosa"),
    ("feliz", "feliz"),
    ("festeiro", "festeira"),
    ("fiel", "fiel"),
    ("fofo", "fofa"),
    ("formoso", "formosa"),
    ("forte", "forte"),
    ("garboso", "garbosa"),
    ("generoso", "generosa"),
    ("gentil", "gentil"),
    ("gracioso", "graciosa"),
    ("habilidoso", "habilidosa"),
    ("honesto", "honesta"),
    ("humilde", "humilde"),
    ("inteligente", "inteligente"),
    ("jeitoso", "jeitosa"),
    ("justo", "justa"),
    ("leal", "leal"),
    ("ligeiro", "ligeira"),
    ("lindo", "linda"),
    ("livre", "livre"),
    ("manso", "mansa"),
    ("maroto", "marota"),
    ("modesto", "modesta"),
    ("nobre", "nobre"),
    ("otimista", "otimista"),
    ("pacato", "pacata"),
    ("paciente", "paciente"),
    ("prestativo", "prestativa"),
    ("prudente", "prudente"),
    ("radiante", "radiante"),
    ("risonho", "risonha"),
    ("sabido", "sabida"),
    ("sagaz", "sagaz"),
    ("serelepe", "serelepe"),
    ("sereno", "serena"),
    ("silencioso", "silenciosa"),
    ("sincero", "sincera"),
    ("sonhador", "sonhadora"),
    ("sorridente", "sorridente"),
    ("tenaz", "tenaz"),
    ("tranquilo", "tranquila"),
    ("valente", "valente"),
    ("veloz", "veloz"),
    ("vibrante", "vibrante"),
    ("vivaz", "vivaz"),
    ("zeloso", "zelosa"),
];

/// Animals whose name is masculine (`o tatu`).
const MASCULINE: &[&str] = &[
    "albatroz",
    "alce",
    "beija-flor",
    "bem-te-vi",
    "besouro",
    "bisonte",
    "boto",
    "bugio",
    "cachorro",
    "camelo",
    "canguru",
    "caracol",
    "caramujo",
    "caranguejo",
    "cavalo",
    "cavalo-marinho",
    "cervo",
    "cisne",
    "coala",
    "coelho",
    "corvo",
    "dourado",
    "elefante",
    "esquilo",
    "flamingo",
    "galo",
    "ganso",
    "gato",
    "gaturamo",
    "golfinho",
    "grilo",
    "guaxinim",
    "guepardo",
    "jabuti",
    "jaburu",
    "jacu",
    "lagarto",
    "lambari",
    "leopardo",
    "lince",
    "lobo",
    "lobo-marinho",
    "macaco",
    "marreco",
    "mico",
    "morcego",
    "mutum",
    "panda",
    "papagaio",
    "pardal",
    "pato",
    "peixe",
    "peixe-boi",
    "pelicano",
    "periquito",
    "pica-pau",
    "pinguim",
    "pirarucu",
    "polvo",
    "pombo",
    "porco-espinho",
    "quati",
    "quero-quero",
    "rinoceronte",
    "sagui",
    "sapo",
    "siri",
    "tambaqui",
    "tatu",
    "tatu-bola",
    "texugo",
    "tico-tico",
    "tigre",
    "tiziu",
    "tucano",
    "uirapuru",
    "urso",
    "veado",
];

/// Animals whose name is feminine (`a arara`).
const FEMININE: &[&str] = &[
    "abelha",
    "alpaca",
    "andorinha",
    "anta",
    "arara",
    "arara-azul",
    "ararajuba",
    "araponga",
    "ariranha",
    "baleia",
    "borboleta",
    "cabra",
    "capivara",
    "chinchila",
    "cigarra",
    "coruja",
    "cutia",
    "ema",
    "estrela-do-mar",
    "foca",
    "formiga",
    "gaivota",
    "galinha",
    "gazela",
    "girafa",
    "iguana",
    "jaguatirica",
    "jandaia",
    "joaninha",
    "lagartixa",
    "lebre",
    "lontra",
    "lula",
    "maritaca",
    "mariposa",
    "marmota",
    "minhoca",
    "ovelha",
    "paca",
    "pantera",
    "pata",
    "perereca",
    "piranha",
    "raposa",
    "saracura",
    "sardinha",
    "seriema",
    "sucuri",
    "suricata",
    "tainha",
    "tartaruga",
    "toupeira",
    "vaca",
    "zebra",
];

/// How many different names [`generated_name`] can give.
pub const POSSIBLE_NAMES: usize = ADJECTIVES.len() * (MASCULINE.len() + FEMININE.len());
const _: () = assert!(
    POSSIBLE_NAMES > 9000,
    "at least docker's order of magnitude"
);

/// The `attempt`-th name for the container `id` (64 hex digits): attempt
/// n reads its own 8 hex digits of the id, so each retry is a new random
/// pick; past the 8th, a number is added (`_9`, `_10`…).
pub fn generated_name(id: &str, attempt: usize) -> String {
    let at = (attempt % 8) * 8;
    let seed = id
        .get(at..at + 8)
        .and_then(|hex| u32::from_str_radix(hex, 16).ok())
        .unwrap_or(attempt as u32) as usize;
    let (adj_masc, adj_fem) = ADJECTIVES[seed % ADJECTIVES.len()];
    let animal = (seed / ADJECTIVES.len()) % (MASCULINE.len() + FEMININE.len());
    let name = match MASCULINE.get(animal) {
        Some(m) => format!("{adj_masc}_{m}"),
        None => format!("{adj_fem}_{}", FEMININE[animal - MASCULINE.len()]),
    };
    if attempt < 8 {
        name
    } else {
        format!("{name}_{attempt}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_is_plain_and_the_adjective_agrees() {
        let words = ADJECTIVES
            .iter()
            .flat_map(|(m, f)| [*m, *f])
            .chain(MASCULINE.iter().copied())
            .chain(FEMININE.iter().copied());
        for w in words {
            assert!(
                w.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{w}"
            );
        }
        // The feminine form differs only in the ending (-o → -a, -or → -ora).
        for (m, f) in ADJECTIVES {
            let ok = m == f
                || (m.strip_suffix('o') == f.strip_suffix('a') && m.ends_with('o'))
                || format!("{m}a") == *f;
            assert!(ok, "{m}/{f}");
        }
        let mut all: Vec<&str> = MASCULINE.iter().chain(FEMININE).copied().collect();
        all.sort();
        let len = all.len();
        all.dedup();
        assert_eq!(all.len(), len, "an animal is listed twice");
    }

    #[test]
    fn names_agree_in_gender_and_retries_differ() {
        // seed 19 → adjective 19 (curioso), animal 0 (albatroz).
        let id = format!("{:08x}{}", 19, "0".repeat(56));
        assert_eq!(generated_name(&id, 0), "curioso_albatroz");
        let fem = 19 + ADJECTIVES.len() * MASCULINE.len();
        let id = format!("{fem:08x}{:08x}{}", 1, "0".repeat(48));
        assert_eq!(generated_name(&id, 0), "curiosa_abelha");
        assert_eq!(generated_name(&id, 1), "animado_albatroz");
        assert_eq!(generated_name(&id, 9), "animado_albatroz_9");
        let id = crate::container::new_id();
        let names: std::collections::HashSet<String> =
            (0..16).map(|a| generated_name(&id, a)).collect();
        assert!(names.len() >= 9, "{names:?}");
    }
}
