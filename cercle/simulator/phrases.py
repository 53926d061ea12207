"""What the Lumen community says, in French and English: templates with slots.

Lumen is a fictional maker of smart lamps and e-bikes. Every template has
`{slots}` filled from the word lists below, and the author's style (greeting,
emoji, typos, signature phrase) is applied on top by `cercle.simulator.community`,
so the same template reads differently from one author to the next.

Categories: question, complaint, praise, spam, troll, toxic, mention, share,
followup (the same customer again in their thread), peer (a customer answering
another), outage (during an incident), thanks / still (reactions to our reply),
and review texts per star rating. Strings here are community content, not UI:
they are not translated through gettext on purpose.
"""

from __future__ import annotations

BRAND = "Lumen"
HANDLE = "@lumen"

PRODUCTS = {
    "fr": [
        "lampe Halo",
        "Halo Mini",
        "lampadaire Arc",
        "ruban Lumen Strip",
        "pont Lumen Bridge",
        "vélo Volt",
        "Volt Cargo",
        "Volt Fold",
        "batterie Power Pack",
        "chargeur rapide",
        "appli Lumen Home",
        "ampoule Glow E27",
    ],
    "en": [
        "Halo lamp",
        "Halo Mini",
        "Arc floor lamp",
        "Lumen Strip",
        "Lumen Bridge hub",
        "Volt e-bike",
        "Volt Cargo",
        "Volt Fold",
        "Power Pack battery",
        "fast charger",
        "Lumen Home app",
        "Glow E27 bulb",
    ],
}

# Grammatical gender of the French product names above: f, m, or v (feminine, elided "l'").
FR_GENDER = "ffmmmmmmfmvv"
_FR_ARTICLES = {  # the, my, a, of the
    "f": ("la ", "ma ", "une ", "de la "),
    "m": ("le ", "mon ", "un ", "du "),
    "v": ("l'", "mon ", "une ", "de l'"),
}
# The forms a template slot can ask for: {product} (with its article in French),
# {my_product}, {a_product}, {de_product} ("of the").
PRODUCT_FORMS: dict[str, dict[str, list[str]]] = {
    "fr": {
        slot: [_FR_ARTICLES[g][i] + name for name, g in zip(PRODUCTS["fr"], FR_GENDER, strict=True)]
        for i, slot in enumerate(("product", "my_product", "a_product", "de_product"))
    },
    "en": {
        "product": PRODUCTS["en"],
        "my_product": ["my " + name for name in PRODUCTS["en"]],
        "a_product": ["a " + name for name in PRODUCTS["en"]],
        "de_product": ["the " + name for name in PRODUCTS["en"]],
    },
}

ISSUES = {
    "fr": [
        "ne s'allume plus",
        "clignote sans arrêt",
        "ne se connecte pas au wifi",
        "perd la connexion Bluetooth",
        "ne charge plus",
        "fait un bruit bizarre",
        "n'apparaît plus dans l'appli",
        "se déconnecte toutes les nuits",
        "a une autonomie ridicule",
        "refuse la mise à jour",
        "affiche une erreur E42",
        "chauffe beaucoup trop",
        "change de couleur toute seule",
        "ne répond plus aux commandes vocales",
    ],
    "en": [
        "won't turn on anymore",
        "keeps flickering",
        "won't connect to wifi",
        "keeps dropping Bluetooth",
        "stopped charging",
        "makes a weird noise",
        "disappeared from the app",
        "disconnects every night",
        "has terrible battery life",
        "refuses to update",
        "shows error E42",
        "gets way too hot",
        "changes colour on its own",
        "ignores voice commands",
    ],
}

FEATURES = {
    "fr": [
        "le mode circadien",
        "les scènes personnalisées",
        "le réveil lumineux",
        "l'assistance au pédalage",
        "le GPS antivol",
        "la compatibilité HomeKit",
        "le mode vacances",
        "la recharge USB-C",
        "le capteur de présence",
        "les minuteurs",
    ],
    "en": [
        "circadian mode",
        "custom scenes",
        "the sunrise alarm",
        "pedal assist",
        "the anti-theft GPS",
        "HomeKit support",
        "vacation mode",
        "USB-C charging",
        "the presence sensor",
        "timers",
    ],
}

CITIES = {
    "fr": ["Lyon", "Nantes", "Lille", "Bordeaux", "Marseille", "Toulouse", "Rennes", "Strasbourg", "Grenoble", "Paris"],
    "en": ["London", "Manchester", "Dublin", "Bristol", "Leeds", "Edinburgh", "Glasgow", "Cardiff", "Brighton", "York"],
}

COLOURS = {
    "fr": ["blanc chaud", "bleu nuit", "ambre", "rose poudré", "vert sauge", "lumière du jour"],
    "en": ["warm white", "midnight blue", "amber", "dusty pink", "sage green", "daylight"],
}

# --- customer messages, by category ------------------------------------------------------

TEMPLATES: dict[str, dict[str, list[str]]] = {
    "fr": {
        "question": [
            "Est-ce que {product} est compatible avec Google Home ?",
            "Quelle est l'autonomie réelle {de_product} en ville ?",
            "Vous livrez à {city} en combien de temps ?",
            "Est-ce qu'on peut utiliser {feature} sans créer de compte ?",
            "Est-ce que {product} existe en {colour} ?",
            "C'est quoi la différence entre {product} et {product2} ?",
            "Je cherche un cadeau pour ma mère, plutôt {a_product} ou {a_product2} ?",
            "Il y a une garantie sur {product} ? Combien d'années ?",
            "Où est-ce qu'on peut essayer {product} près de {city} ?",
            "Ma commande {order} est partie ? Le suivi n'a pas bougé depuis {days} jours.",
            "Comment on active {feature} sur {product} ?",
            "Vous prévoyez une promo pour le Black Friday sur {product} ?",
            "Il faut monter {product} soi-même à la livraison ?",
            "On peut changer soi-même la batterie {de_product} ?",
            "La mise à jour {version} apporte quoi exactement ?",
            "Est-ce que {feature} arrive bientôt sur {product} ?",
            "Vous faites le paiement en plusieurs fois ?",
            "Est-ce que {product} fonctionne avec une box Free ?",
            "Quel poids max supporte le porte-bagages {de_product} ?",
            "Je peux retourner {product} si la couleur ne me plaît pas ?",
            "Combien de temps pour recharger complètement {product} ?",
            "Il faut un abonnement pour utiliser {feature} ?",
            "Est-ce que {product} passe dans un ascenseur ?",
            "On peut utiliser {product} dehors ?",
        ],
        "complaint": [
            "{my_product} {issue} depuis la dernière mise à jour.",
            "Ça fait {days} jours que j'attends ma commande {order}, toujours rien.",
            "{product} {issue}, c'est inadmissible pour ce prix.",
            "Troisième fois que j'écris au SAV, aucune réponse.",
            "Livraison annoncée mardi, on est vendredi et toujours rien.",
            "{product} {issue} et le support me dit de débrancher/rebrancher… merci.",
            "Colis arrivé abîmé, des rayures partout sur {product}.",
            "{price} € pour {a_product} qui {issue}, je regrette mon achat.",
            "Remboursement de la commande {order} promis il y a {days} jours, je l'attends encore.",
            "Depuis la version {version}, {my_product} {issue}.",
            "Le chat du site ne répond jamais, c'est quoi le numéro du SAV ?",
            "On m'a livré la mauvaise couleur : j'avais choisi la teinte {colour}.",
            "{my_product} {issue} en plein trajet, j'ai dû rentrer à pied.",
            "Vous avez débité ma carte deux fois pour la commande {order}.",
            "Impossible de trouver une pièce de rechange pour {my_product}.",
            "Le livreur a laissé le colis devant la porte sous la pluie.",
            "L'appli me déconnecte toutes les dix minutes, c'est pénible.",
            "Franchement déçu, {product} {issue} après {days} jours d'utilisation.",
        ],
        "praise": [
            "J'adore {my_product}, {feature}, ça a changé mes soirées !",
            "{product}, c'est génial : je fais {n} km par jour sans forcer.",
            "Merci pour la livraison super rapide à {city} !",
            "Le SAV a remplacé {my_product} en deux jours, top.",
            "Meilleur achat de l'année : {product} en {colour}, sublime.",
            "{product} a remplacé ma voiture, je ne reviendrai pas en arrière.",
            "Bravo pour la mise à jour {version}, tout est plus fluide.",
            "Ça fait un an que j'ai {my_product}, aucun souci. Bravo l'équipe.",
            "{feature}, c'est exactement ce qu'il me fallait. Merci !",
            "Ma fille adore {product}, elle ne veut plus l'éteindre.",
            "Enfin une marque qui écoute ses clients. Continuez comme ça !",
            "Installation en cinq minutes, rien à redire sur {product}.",
            "Le design {de_product} est magnifique, tout le monde me demande où je l'ai trouvé.",
        ],
        "spam": [
            "Gagnez {price} €/jour avec le bitcoin 👉 https://crypto-gains.example/go",
            "Je suis devenu riche grâce à ce robot de trading, contactez-moi en privé !!",
            "Promo folle sur les lampes de marque -90% ➡️ http://lampes-pas-cheres.example",
            "Voulez-vous plus d'abonnés ? Visitez free-followers.example 🔥🔥",
            "Investissez dans le Lumen Coin avant qu'il explose 🚀🚀 t.me/lumencoin_officiel",
            "Félicitations, vous avez gagné {a_product} ! Cliquez ici : http://cadeau-gratuit.example",
            "Travail à domicile, {price} € par semaine, écrivez-moi sur WhatsApp",
        ],
        "troll": [
            "Encore une lampe hors de prix pour éclairer quoi, la lune ?",
            "Qui achète encore ce genre de trucs lol",
            "Un vélo électrique à ce prix-là, autant acheter un scooter 😂",
            "Premier !",
            "Ma lampe IKEA à 9 € fait pareil.",
            "Les vrais cyclistes pédalent sans moteur.",
            "Vous allez encore nous vendre une lampe connectée qui a besoin du wifi pour s'allumer ?",
            "Le marketing c'est bien, des produits qui marchent c'est mieux.",
        ],
        "toxic": [
            "Vous êtes des incapables, remboursez-moi.",
            "Service client de clowns, aucune compétence.",
            "Bande d'arnaqueurs, je vais vous faire une pub d'enfer.",
            "Ferme ta boutique, vous êtes nuls.",
            "Le community manager dort ou quoi ? Bande de bras cassés.",
            "Honte à vous, vous prenez les clients pour des idiots.",
        ],
        "mention": [
            "{handle} {my_product} {issue}, quelqu'un peut m'aider ?",
            "Merci {handle} pour {product}, je suis fan !",
            "{handle} toujours pas de nouvelles de ma commande {order}…",
            "Qui a testé {product} de chez {handle} ? Avis ?",
            "Grosse journée dehors avec {my_product} {handle} 🚲",
            "{handle} vous serez au salon de {city} cette année ?",
        ],
        "share": [
            "Regardez ça : {product} !",
            "Je la veux 😍",
            "Enfin disponible !",
            "Pour toi {name} 👀",
            "À offrir pour Noël ?",
            "On en parlait hier",
        ],
        "followup": [
            "Toujours pas de réponse…",
            "Quelqu'un lit les messages ici ?",
            "Petite relance : c'est toujours d'actualité.",
            "Edit : j'ai redémarré, même problème.",
            "J'ai aussi envoyé un mail au SAV, sans réponse.",
            "Pour info la commande c'est {order}.",
            "Bon, ça remarche tout seul. Bizarre.",
            "Même souci ce matin.",
        ],
        "peer": [
            "J'avais le même souci, il faut réinitialiser {product} en restant appuyé 10 secondes.",
            "Chez moi ça a marché après la mise à jour {version}.",
            "Essaie de le rebrancher sur une autre prise, ça avait réglé mon problème.",
            "Le SAV m'a répondu en 48 h par mail, patience !",
            "Pareil ici, je pense que c'est leurs serveurs.",
        ],
        "outage": [
            "L'appli Lumen Home ne répond plus du tout, c'est normal ?",
            "Plus aucune de mes lampes ne répond depuis une heure !",
            "Vos serveurs sont en panne ? {product} est injoignable.",
            "Impossible d'allumer la lumière chez moi, merci la maison connectée…",
            "Panne générale ? {my_product} {issue}.",
            "Ça fait deux heures que tout est en rade, une explication ?",
            "Je peux plus déverrouiller {my_product}, je suis coincé à {city}.",
        ],
        "thanks": [
            "Merci beaucoup, c'est réglé !",
            "Super réactif, merci 🙏",
            "Parfait, ça marche maintenant. Merci !",
            "Merci pour la réponse rapide.",
            "Top, merci pour l'info.",
            "Génial, je teste ce soir.",
        ],
        "still": [
            "Merci, mais du coup ça marche aussi avec {product} ?",
            "J'ai essayé, toujours le même problème.",
            "D'accord, et pour le remboursement je fais comment ?",
            "Merci. Et c'est prévu pour quand exactement ?",
            "Je vous ai envoyé le numéro en privé.",
        ],
    },
    "en": {
        "question": [
            "Does the {product} work with Google Home?",
            "What's the real range of the {product} in the city?",
            "How long does delivery to {city} take?",
            "Can I use {feature} without creating an account?",
            "Does the {product} come in {colour}?",
            "What's the difference between the {product} and the {product2}?",
            "Looking for a gift for my dad, {product} or {product2}?",
            "Is there a warranty on the {product}? How many years?",
            "Where can I try the {product} near {city}?",
            "Has my order {order} shipped? Tracking hasn't moved in {days} days.",
            "How do I turn on {feature} on the {product}?",
            "Any Black Friday deal planned on the {product}?",
            "Does the {product} arrive assembled?",
            "Can I swap the {product} battery myself?",
            "What does update {version} actually change?",
            "Is {feature} coming to the {product} soon?",
            "Do you offer pay in instalments?",
            "Will the {product} work with a mesh network?",
            "What's the max load on the {product} rack?",
            "Can I return the {product} if I don't like the colour?",
            "How long does a full charge of the {product} take?",
            "Do I need a subscription for {feature}?",
            "Does the {product} fit in a lift?",
            "Can the {product} be used outdoors?",
        ],
        "complaint": [
            "My {product} {issue} since the last update.",
            "Been waiting {days} days for order {order}, still nothing.",
            "The {product} {issue}, not acceptable at this price.",
            "Third time writing to support, zero answer.",
            "Delivery was due Tuesday, it's Friday and still no {product}.",
            "The {product} {issue} and support tells me to unplug it and plug it back in… thanks.",
            "Parcel arrived damaged, the {product} is scratched all over.",
            "£{price} for a {product} that {issue}, I regret buying it.",
            "Refund for order {order} promised {days} days ago, still waiting.",
            "Since version {version} my {product} {issue}.",
            "The website chat never answers, what's the support number?",
            "You sent the wrong colour: I ordered {colour}.",
            "My {product} {issue} mid-ride, had to walk home.",
            "You charged my card twice for order {order}.",
            "Can't find a spare part for my {product} anywhere.",
            "Courier left the {product} outside in the rain.",
            "The app logs me out every ten minutes, so annoying.",
            "Honestly disappointed, the {product} {issue} after {days} days of use.",
        ],
        "praise": [
            "Love my {product}, {feature} changed my evenings!",
            "The {product} is brilliant, I ride {n} km a day without breaking a sweat.",
            "Thanks for the super fast delivery to {city}!",
            "Support replaced my {product} in two days, great job.",
            "Best purchase of the year: the {product} in {colour} is gorgeous.",
            "The {product} replaced my car, never going back.",
            "Well done on update {version}, everything feels smoother.",
            "Had my {product} for a year, not a single issue. Kudos team.",
            "{feature} is exactly what I needed. Thank you!",
            "My daughter loves her {product}, she never wants to turn it off.",
            "Finally a brand that listens to its customers. Keep it up!",
            "Set up in five minutes, the {product} is perfect.",
            "The {product} design is stunning, everyone asks where I got it.",
        ],
        "spam": [
            "Earn ${price}/day with bitcoin 👉 https://crypto-gains.example/go",
            "I got rich with this trading bot, DM me!!",
            "Crazy sale on designer lamps -90% ➡️ http://cheap-lamps.example",
            "Want more followers? Visit free-followers.example 🔥🔥",
            "Buy Lumen Coin before it moons 🚀🚀 t.me/lumencoin_official",
            "Congrats, you won a {product}! Claim here: http://free-gift.example",
            "Work from home, ${price} a week, message me on WhatsApp",
        ],
        "troll": [
            "Another overpriced lamp to light what, the moon?",
            "Who even buys this stuff lol",
            "An e-bike at that price, just buy a scooter 😂",
            "First!",
            "My 9 quid IKEA lamp does the same.",
            "Real cyclists pedal without a motor.",
            "Let me guess, a smart lamp that needs wifi to turn on?",
            "Marketing is nice, products that work would be nicer.",
        ],
        "toxic": [
            "You people are useless, refund me.",
            "Clown customer service, zero competence.",
            "Bunch of scammers, I'll make sure everyone knows.",
            "Shut the shop down, you're pathetic.",
            "Is the social media intern asleep? Bunch of idiots.",
            "Shame on you, treating customers like fools.",
        ],
        "mention": [
            "{handle} my {product} {issue}, can anyone help?",
            "Thanks {handle} for the {product}, big fan!",
            "{handle} still no news about order {order}…",
            "Anyone tried the {product} from {handle}? Thoughts?",
            "Long ride today on my {product} {handle} 🚲",
            "{handle} will you be at the {city} show this year?",
        ],
        "share": [
            "Look at this, the new {product}!",
            "I want it 😍",
            "Finally available!",
            "For you {name} 👀",
            "Christmas present idea?",
            "We talked about this yesterday",
        ],
        "followup": [
            "Still no answer…",
            "Does anyone read the messages here?",
            "Bumping this: still an issue.",
            "Edit: rebooted it, same problem.",
            "Also emailed support, no reply.",
            "FYI the order is {order}.",
            "OK it works again on its own. Weird.",
            "Same issue this morning.",
        ],
        "peer": [
            "Had the same issue, hold the {product} button for 10 seconds to reset it.",
            "Fixed for me after update {version}.",
            "Try another socket, that sorted mine.",
            "Support answered me by email within 48h, be patient!",
            "Same here, I think it's their servers.",
        ],
        "outage": [
            "The Lumen Home app isn't responding at all, is this normal?",
            "None of my lamps respond for an hour now!",
            "Are your servers down? The {product} is unreachable.",
            "Can't turn my lights on, thanks smart home…",
            "Global outage? My {product} {issue}.",
            "Everything has been down for two hours, any explanation?",
            "Can't unlock my {product}, I'm stuck in {city}.",
        ],
        "thanks": [
            "Thanks a lot, all sorted!",
            "Super responsive, thank you 🙏",
            "Perfect, it works now. Thanks!",
            "Thanks for the quick answer.",
            "Great, thanks for the info.",
            "Brilliant, I'll try tonight.",
        ],
        "still": [
            "Thanks, but does it work with the {product} too?",
            "Tried that, same problem.",
            "OK, and how do I get my refund?",
            "Thanks. And when exactly is that planned?",
            "Sent you the order number in DM.",
        ],
    },
}

REVIEWS: dict[str, dict[int, list[str]]] = {
    "fr": {
        5: [
            "Parfait. {product} est superbe et {feature} fonctionne à merveille.",
            "Excellent achat, livraison rapide, je recommande {product} les yeux fermés.",
            "Cinq étoiles méritées : qualité au top et SAV réactif.",
            "Un an d'utilisation quotidienne {de_product}, zéro problème.",
            "Très belle lumière, installation simple, rien à redire.",
        ],
        4: [
            "Très bon produit, seul bémol : l'appli est parfois lente.",
            "Belle qualité, un peu cher mais on ne regrette pas.",
            "{product}, c'est top, mais la notice pourrait être plus claire.",
            "Bon produit, livraison un jour en retard mais bien emballé.",
        ],
        3: [
            "Correct sans plus. {product} fait le job mais {feature}, c'est décevant.",
            "Produit moyen pour le prix, l'appli manque de fonctionnalités.",
            "Bien au début, mais {product} {issue} de temps en temps.",
            "Ni bon ni mauvais, le SAV a mis une semaine à répondre.",
        ],
        2: [
            "Déçu : {product} {issue} et le SAV est lent.",
            "Trop cher pour ce que c'est, la finition laisse à désirer.",
            "Livraison en retard de {days} jours et produit rayé.",
        ],
        1: [
            "À fuir. {my_product} {issue} au bout de {days} jours et aucun remboursement.",
            "Pire achat de l'année, service client inexistant.",
            "Commande {order} jamais reçue, aucune réponse à mes mails.",
            "{product} {issue}, et on me refuse la garantie. Honteux.",
        ],
    },
    "en": {
        5: [
            "Perfect. The {product} is gorgeous and {feature} works like a charm.",
            "Excellent {product}, fast delivery, highly recommend.",
            "Five well-deserved stars: great quality and responsive support.",
            "A year of daily use of the {product}, zero problems.",
            "Lovely light, easy setup, nothing to complain about.",
        ],
        4: [
            "Very good {product}, only downside: the app is a bit slow at times.",
            "Great quality, a bit pricey but no regrets.",
            "The {product} is great, the manual could be clearer.",
            "Good product, delivered a day late but well packed.",
        ],
        3: [
            "OK, nothing more. The {product} does the job but {feature} is underwhelming.",
            "Average product for the price, the app lacks features.",
            "Fine at first, but the {product} {issue} now and then.",
            "Neither good nor bad, support took a week to answer.",
        ],
        2: [
            "Disappointed: the {product} {issue} and support is slow.",
            "Too expensive for what it is, the finish is poor.",
            "Delivered {days} days late and scratched.",
        ],
        1: [
            "Avoid. My {product} {issue} after {days} days and no refund.",
            "Worst purchase of the year, customer service doesn't exist.",
            "Order {order} never arrived, no answer to my emails.",
            "The {product} {issue} and they refuse the warranty. Shameful.",
        ],
    },
}

# --- style ---------------------------------------------------------------------------------

GREETINGS = {
    "fr": {
        "formal": ["Bonjour,", "Bonjour à l'équipe Lumen,", "Madame, Monsieur,", "Bonsoir,"],
        "casual": ["Salut !", "Hello,", "Coucou,", "Yo,", "Bonjour,"],
    },
    "en": {
        "formal": ["Hello,", "Dear Lumen team,", "Good afternoon,", "Hi there,"],
        "casual": ["Hey,", "Hi!", "Yo,", "Hiya,", "Hello,"],
    },
}

CLOSINGS = {
    "fr": ["Merci d'avance.", "Cordialement.", "Bonne journée !", "Merci !", "Bien à vous."],
    "en": ["Thanks in advance.", "Kind regards.", "Have a nice day!", "Thanks!", "Cheers."],
}

SIGNATURES = {
    "fr": [
        "Bisous à l'équipe",
        "Team vélotaf",
        "Vive la lumière douce",
        "Allez Lumen !",
        "Fan depuis le premier jour",
        "#teamHalo",
        "Bonne soirée les lumineux",
        "À la prochaine",
    ],
    "en": [
        "Cheers from the north",
        "Bike to work crew",
        "#teamHalo",
        "Keep shining",
        "Long time fan",
        "Peace",
        "Ride safe",
        "Stay bright",
    ],
}

EMOJI = {
    "question": ["🤔", "🙂", "🙏", "❓"],
    "complaint": ["😡", "😤", "🙄", "😞", "👎"],
    "praise": ["😍", "❤️", "👏", "✨", "💡", "🚲", "🔥"],
    "mention": ["🚲", "💡", "👋"],
    "followup": ["🙄", "⏳", "😕"],
    "outage": ["😡", "🔌", "😱"],
    "thanks": ["🙏", "👍", "😊"],
    "neutral": ["🙂", "👍"],
}

# --- the brand ----------------------------------------------------------------------------

POSTS: dict[str, list[str]] = {
    "launch": [
        "✨ Nouveau / New: {product_fr} est là ! Meet the {product_en}.",
        "Lancement aujourd'hui : {product_fr}, en {colour_fr}. Launching today: the {product_en}.",
        "Bientôt chez vous : {product_fr}. Précommandes ouvertes / Pre-orders open.",
    ],
    "tip": [
        "Astuce du jour : activez {feature_fr} dans l'appli. Tip: turn on {feature_en} in the app.",
        "Comment prolonger la vie de {product_fr} ? Our 5 tips for your {product_en}.",
        "Saviez-vous que {feature_fr} fonctionne aussi hors ligne ? Did you know {feature_en} works offline?",
    ],
    "promo": [
        "-20 % sur {product_fr} ce week-end ! 20% off the {product_en} this weekend.",
        "Livraison offerte jusqu'à dimanche / Free shipping until Sunday 🚚",
        "Concours : tentez de gagner {product_fr} ! Giveaway: win a {product_en}!",
    ],
    "event": [
        "Retrouvez-nous au salon de {city_fr} samedi ! Come see us in {city_en}.",
        "Mise à jour {version} disponible : nouveautés dans l'appli. Update {version} is out.",
        "Portrait de client : 10 000 km avec {product_fr}. Customer story: 10,000 km on a {product_en}.",
    ],
}

OUTAGE_POSTS = [
    "⚠️ Incident en cours : l'appli Lumen Home et le pont Bridge sont perturbés. Nos équipes sont dessus. "
    "Ongoing incident: the Lumen Home app and Bridge are disrupted, we're on it.",
    "⚠️ Perturbation du service de déverrouillage des vélos Volt. Volt unlock service disrupted, updates here.",
]

OUTAGE_ISSUES = {
    "fr": ["ne répond plus", "est injoignable", "reste hors ligne"],
    "en": ["isn't responding", "is unreachable", "stays offline"],
}

# Answers the team gives in the backfilled history (and a starting point for saved replies).
BRAND_REPLIES: dict[str, dict[str, list[str]]] = {
    "fr": {
        "question": [
            "Bonjour {first}, merci pour votre question ! Oui, c'est bien possible : tout est expliqué dans l'aide en ligne.",
            "Bonjour {first}, bonne question ! Nous vous envoyons le détail en message privé.",
            "Hello {first} ! La réponse est oui, et c'est compatible avec toute la gamme.",
        ],
        "complaint": [
            "Bonjour {first}, désolés pour ce souci. Pouvez-vous nous envoyer votre numéro de commande en privé ?",
            "Bonjour {first}, nous sommes navrés. Un conseiller revient vers vous aujourd'hui.",
            "Bonjour {first}, merci pour votre patience : un correctif arrive dans la prochaine mise à jour.",
        ],
        "praise": [
            "Merci {first}, ça nous fait super plaisir ! 💡",
            "Merci beaucoup {first}, on transmet à toute l'équipe !",
        ],
        "other": [
            "Merci pour votre message {first} !",
            "Bonjour {first}, nous restons à votre disposition en message privé.",
        ],
    },
    "en": {
        "question": [
            "Hi {first}, thanks for asking! Yes, it is possible: it's all in our help centre.",
            "Hi {first}, great question! We've sent you the details by private message.",
            "Hello {first}! The answer is yes, and it works with the whole range.",
        ],
        "complaint": [
            "Hi {first}, sorry about this. Could you DM us your order number?",
            "Hi {first}, we're really sorry. An advisor will get back to you today.",
            "Hi {first}, thanks for your patience: a fix is coming in the next update.",
        ],
        "praise": [
            "Thank you {first}, that made our day! 💡",
            "Thanks so much {first}, we'll pass it on to the team!",
        ],
        "other": [
            "Thanks for your message {first}!",
            "Hi {first}, we're here if you need us by private message.",
        ],
    },
}

FIRST_NAMES = {
    "fr": [
        "Camille", "Léa", "Manon", "Chloé", "Inès", "Sarah", "Julie", "Emma", "Clara", "Lucie",
        "Pauline", "Margaux", "Anaïs", "Élodie", "Mathilde", "Zoé", "Nadia", "Aïcha", "Sophie", "Claire",
        "Lucas", "Hugo", "Thomas", "Nicolas", "Julien", "Maxime", "Antoine", "Karim", "Mehdi", "Théo",
        "Romain", "Kevin", "Alexandre", "Baptiste", "Quentin", "Yanis", "Olivier", "Pierre", "Louis", "Jérôme",
    ],
    "en": [
        "Olivia", "Amelia", "Isla", "Ava", "Emily", "Sophie", "Grace", "Chloe", "Ella", "Freya",
        "Lily", "Mia", "Hannah", "Priya", "Aisha", "Megan", "Zara", "Ruby", "Holly", "Niamh",
        "Oliver", "George", "Harry", "Jack", "Noah", "Leo", "Charlie", "Jacob", "Oscar", "James",
        "Liam", "Ethan", "Callum", "Ravi", "Omar", "Daniel", "Sam", "Tom", "Ben", "Connor",
    ],
}

LAST_NAMES = {
    "fr": [
        "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
        "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
        "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Benali",
    ],
    "en": [
        "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Robinson",
        "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson",
        "Clarke", "Khan", "Murphy", "Kelly", "O'Brien", "Hughes", "Edwards", "Turner", "Hill", "Cooper",
    ],
}

# Accounts that only post spam (crypto, fake giveaways, follower sellers).
SPAM_NAMES = [
    "CryptoKing_88", "Promo Deals FR", "Bitcoin Mentor", "Free Followers", "Lumen Support Officiel",
    "Trading Pro 💰", "Gift Winner", "Nadine Investit",
]

# Optional context a customer puts before the point (more variety, same meaning).
CONTEXT = {
    "fr": [
        "Client depuis {n} mois.",
        "J'ai acheté {product} le mois dernier.",
        "Acheté à la boutique de {city}.",
        "Je l'utilise tous les jours pour aller au travail.",
        "Cadeau de Noël de mes enfants.",
        "Deuxième produit Lumen à la maison.",
        "Petite question rapide.",
        "Je me permets de vous écrire ici.",
    ],
    "en": [
        "Customer for {n} months.",
        "Bought the {product} last month.",
        "Got it from the {city} store.",
        "I use it every day to commute.",
        "Christmas present from my kids.",
        "Second Lumen product at home.",
        "Quick question.",
        "Writing here because email is slow.",
    ],
}

# Product families, used as topics (and tags in the backfilled history).
PRODUCT_TOPICS = ["lampes", "lampes", "lampes", "lampes", "appli", "vélos", "vélos", "vélos", "vélos", "vélos", "appli", "lampes"]
