package classify

import "strings"

// cueClass says what a phrase tells about the post. Phrases are matched in the same pass as the
// service names, so the lexicon costs nothing per phrase at classification time.
type cueClass uint8

const (
	cueNone     cueClass = iota
	cueOutage            // "outage", "caído", "en panne", "Störung", "障害": failure, whatever the grammar
	cueProblem           // "not working", "can't log in", "error": a failure when a service is near
	cueSoft              // "slow", "laggy", "buggy": a weak complaint
	cueDown              // "down", "ダウン": a failure only next to a service, many other senses
	cueAsk               // "anyone else", "just me": asking others to confirm
	cueDenial            // "isn't down", "it's your wifi": says there is no outage
	cueRecovery          // "back up", "restored", "復旧した"
	cuePast              // "yesterday", "remember when": not happening now
	cueHypo              // "what if", "imagine": not happening at all
	cueNews              // "earnings", "lays off", "post-mortem": business and analysis, not a report
	cuePromo             // "sponsored", "sign up": advertising
	cueOther             // "download", "let me down", "sit down": "down" in another sense
	cueFinance           // "shares", "stock", "price": a following "down" is a number going down
	cueTech              // "app", "login", "server": context that makes an ambiguous name a service
	cueNow               // "again", "right now", "still": the failure is current
	cuePlanned           // "scheduled maintenance", "will be down": announced, not happening
)

// Language bits for cues that mean something else in another language.
const (
	langEN uint8 = 1 << iota
	langES
	langPT
	langFR
	langDE
	langJA
)

var langBits = map[string]uint8{"en": langEN, "es": langES, "pt": langPT, "fr": langFR, "de": langDE, "ja": langJA}

// cueSet is a group of phrases of one class and weight. Phrases are separated by '|'; a leading
// '~' marks a phrase that may be glued to the word before it (German compounds: "Netzstörung").
type cueSet struct {
	class  cueClass
	weight float32
	langs  uint8 // 0: any language; else only in posts in (or undeclared and possibly in) these
	list   string
}

var lexicon = []cueSet{
	// ------------------------------------------------------------ English
	{cueOutage, 3, 0, "outage|outages|is down|are down|went down|goes down|going down|keeps going down|down again|been down|was down|is offline|went offline|down for everyone|down for anyone|down for anybody|down for me|down for you|down everywhere|down right now|completely down|totally down|all down|down worldwide|is dead|are dead|died|has died|is cooked|having an outage|major outage|widespread outage|downtime|meltdown|service disruption|disruption|is borked|is broken|crashed|crashing|keeps crashing|went dark|degraded|degraded performance|incident|investigating|having issues|having problems|is struggling|sos only|no service|no signal|no internet|not responding|unresponsive|unreachable|timing out|timed out|times out|can't connect|cant connect|cannot connect|unable to connect|failed to connect|failing|fails|failed|server error|server errors|servers are down|servers down|server down|acknowledged|acknowledges|experiencing issues|issues with|problems with|trouble with|having trouble|nothing works|nothing loads|everything is down|5xx|is it down|is this down|overloaded|over capacity|at capacity"},
	{cueProblem, 2, 0, "not working|isn't working|isnt working|is not working|aren't working|stopped working|doesn't work|doesnt work|does not work|won't work|wont work|not loading|isn't loading|won't load|wont load|doesn't load|can't load|cant load|not opening|won't open|not sending|won't send|not syncing|won't sync|stopped syncing|not delivering|not arriving|not coming through|not going through|won't go through|not connecting|won't let me|wont let me|can't log in|cant log in|can't login|cant login|can't sign in|cant sign in|cannot sign in|unable to log in|unable to sign in|can't access|cant access|can't join|cant join|kicking me out|kicked me out|logging me out|error|errors|erroring|errored|error code|something went wrong|went wrong|try again later|temporarily unavailable|service unavailable|bad gateway|gateway timeout|internal server error|too many requests|rate limited|rate limiting|throttled|throttling|stuck|spinning|spins|blank page|white screen|black screen|buffering|won't refresh|not refreshing|not updating|declined|declining|offline|dead|broken|broke|glitch|glitching|glitchy|bugged|frozen|froze|freezing|disconnected|disconnecting|reconnecting|cutting out|lost connection|connection issue|connection issues|issue|issues|problem|problems|trouble|what is going on|what's going on|whats going on|what is happening|bouncing|bounced|bounces|rejecting|rejected|deferring|deferred|expiring|queued|unavailable|inaccessible|refuses|refusing|fail to|fails to|failed to|failing to|can't|cant|cannot|unable to|won't|wont|couldn't|keeps failing|keeps disconnecting|keeps logging me out|stop working|won't launch|not launching|won't start|won't log in|wont log in|not playing|having a bad day|internet out|internet is out|service is out|check your connection|check your internet|check your network"},
	{cueSoft, 1, 0, "slow|super slow|very slow|lagging|laggy|lag|sluggish|buggy|being weird|acting up|acting weird|flaky|unstable|intermittent|hiccup|hiccups|wonky|janky|choppy|delayed|delays|cooked|having a moment|is out|went out|dropped"},
	{cueDown, 3, 0, "down|ダウン|ダウンしてる|ダウン中|ダウンした|fora|off|tombe"},
	{cueAsk, 1, 0, "anyone else|anybody else|anyone?|anybody?|just me|only me|is it just me|or is it me|or just me|you too|y'all too|everyone else|what's up with|whats up with|is it down|not my wifi|not my internet|not my connection|it's not me|if anyone|everything else works"},
	{cueDenial, 4, 0, "isn't down|isnt down|is not down|not down|aren't down|are not down|not an outage|no outage|not the problem|it's your wifi|your wifi|your internet|your connection|your router|your vpn|your end|on your end|it's just you|its just you|works fine|working fine|works for me|working for me|works here|fine for me|fine here|no issues here|no problems here|all good here|nope|airplane mode|my bad|on my end|my wifi|my router|turns out|forgot to|i forgot|it's not down|its not down|home server|homelab|self-hosted|selfhosted|my own server|our own server|nothing to do with|not an outage on"},
	{cueRecovery, 3, 0, "back up|is back up|are back up|'s back up|back online|is back|are back|'s back|back now|back to normal|working again|works again|up again|restored|resolved|fixed now|fine now|recovered|recovering|finally back|panic over|false alarm|up and running|came back|working now|works now|loading again|phew|all clear"},
	{cuePast, 3, 0, "yesterday|last night|last week|last month|last year|years ago|remember when|remember the|anniversary|in 2019|in 2020|in 2021|in 2022|in 2023|in 2024|in 2025|post-mortem|postmortem|root cause|lessons from|compensation|lawsuit|earlier today|was caused by|were caused by|2010|2011|2012|2013|2014|2015|2016|2017|2018|2019|2020|2021|2022|2023|2024|2025"},
	{cueHypo, 3, 0, "if|what if|imagine|in case|would|what happens"},
	{cueNews, 2, 0, "earnings|revenue|profits|profit|shares|stock|layoffs|laying off|lays off|hiring|announces|announced|launches|launched|new feature|price increase|ipo|record|acquires|acquisition|keynote|sale|tips|how to|step by step|guide|tutorial|study|survey|report says|fixes the bug|fixes a bug|bug fixes|bugfix|release notes|is out now|now available"},
	{cuePromo, 3, 0, "sponsored|sign up|try our|free trial|book a demo|% off|promo|discount|link in bio|subscribe|uptime monitoring|join our team"},
	{cueOther, 4, 0, "download|downloads|downloading|downloaded|let me down|letting me down|let you down|let us down|letdown|sit down|calm down|slow down|slowdown|shut down|shutdown|shutting down|upside down|down under|down to|down by|down with|down for it|down bad|count down|countdown|counting down|break down|breaking down|breakdown|broke down|write down|wrote down|turn down|turned down|back down|knock down|knocked down|feel down|feeling down|a bit down|kind of down|going down to|down the road|down the street|down the line|hands down|thumbs down|up and down|ups and downs|down payment|lockdown|crackdown|markdown|touchdown|step down|stepping down|stand down|put down|cut down|narrow down|track down|settle down|down to earth|lie down|look down|bring down|down the drain|fell down|is down to|are down to|down sharply|can't wait|cant wait|can't believe|cant believe|can't stop|can't decide|can't tell|can't remember|can't imagine|can't complain|can't even|down votes|down vote|downvote|downvotes|downvoted|who's down|whos down|who is down|anyone down for|anybody down for|i'm down for|im down for|i'm down to|down to hang|down below|see below|scroll down"},
	{cueFinance, 1, 0, "stock|stocks|shares|share price|price|prices|sales|profit|profits|revenue|earnings|market|index|nasdaq|bitcoin|crypto|temperature|temps|degrees|usage|subscribers|deliveries|users|ratings|dollar|percent|quarter|year over year|scores|score|grades|test scores|enrollment|attendance"},
	{cueTech, 1, 0, "app|apps|website|site|sites|server|servers|service|services|login|log in|sign in|account|email|emails|mail|inbox|meeting|meetings|call|calls|stream|streaming|feed|timeline|tweets|posts|notifications|api|status page|update|dashboard|portal|admin|console|network|internet|wifi|signal|data|channel|chat|messages|upload|sync|store|checkout|payment|payments|tenant|cloud|region|deploy|pipelines|builds|repo|client|launcher|matchmaking|party chat|connection|bank|banking|card|transfer|vpn|customers|mobile|phone|5g|broadband|router"},
	{cueNow, 1, 0, "again|right now|rn|still|atm|currently|at the moment|this morning|this afternoon|today|tonight|since|all day|all morning|every time"},
	{cuePlanned, 3, 0, "scheduled maintenance|planned maintenance|maintenance window|scheduled downtime|planned downtime|will be down|will go down|will be offline|will be unavailable|will be taken offline"},

	// ------------------------------------------------------------ Spanish
	{cueOutage, 3, 0, "caido|caida|caidos|caidas|se cayo|se cayeron|se cae|cayo|esta caido|sigue caido|sin servicio|sin internet|sin señal|sin senal|sin cobertura|sin conexion|no hay internet|no hay servicio|se murio|no jala|no anda|anda mal|no sirve|colapsado|fuera de servicio|interrupcion|a nivel mundial|averia|averia general|sin fibra"},
	{cueProblem, 2, 0, "no funciona|no funcionan|no me funciona|no le funciona|no les funciona|no te funciona|no nos funciona|no carga|no cargan|no me carga|no abre|no conecta|no se conecta|no me deja|no deja|no puedo|no se puede|no responde|no llegan|no me llegan|no llega|no salen|no se envian|no reproduce|no entra|fallando|falla|fallas|error|errores|da error|me da error|tira error|me sale|problemas|problema|da problemas|lentisimo|muy lento|se queda cargando|se cierra|se corta|imposible|no tiene servicio|no tengo servicio|sin enviar|sin cargar|sin funcionar|rechaza|rechazando|no actualiza|no se actualiza|no carga nada"},
	{cueSoft, 1, 0, "lento|lenta"},
	{cueAsk, 1, 0, "alguien mas|a alguien mas|solo a mi|o es mi|es cosa mia|o solo yo|les pasa|le pasa|es general"},
	{cueDenial, 4, 0, "no esta caido|no esta caida|no se cayo|es tu internet|es tu wifi|tu internet|tu wifi|tu conexion|revisa tu|falsa alarma|no es que se haya caido|no es que este caido|no es una caida|no una caida|no se ha caido|servidor casero|mi propio servidor|nada que ver con"},
	{cueRecovery, 3, 0, "ya funciona de nuevo|ya funciona otra vez|funciona de nuevo|ya va bien|va todo bien|ya va todo bien|ya volvio|volvio|ya funciona|funciona de nuevo|funciona otra vez|se restablecio|restablecido|ya anda|ya carga|todo normal|normalizado"},
	{cuePast, 3, 0, "ayer|anoche|el año pasado|la semana pasada|recuerdas|te acuerdas|hace años|fue una caida|hace un año|hace dos años|el otro dia"},
	{cueHypo, 3, 0, "y si|si se cae|si se cayera|que pasaria|si manana|si un dia|si algun dia|que pasaria si|imagina|imaginen"},
	{cueNews, 2, 0, "despide|anuncia|presenta|tarifas|precio|oferta|rebajas|beneficio|lanza|novedad|novedades|estrena|disponible desde|nueva interfaz|ya disponible"},
	{cueOther, 4, 0, "se me cayo|me cai|bajon|descargar|descarga|ver sin conexion|modo sin conexion|para ver sin conexion"},
	{cueTech, 1, 0, "la app|aplicacion|pagina|web|servidor|servidores|cuenta|correo|correos|mensajes|reunion|iniciar sesion|transferencias|banca en linea|datos|internet|fibra|movil|red"},
	{cueNow, 1, 0, "otra vez|de nuevo|ahora|desde hace|desde las|todavia|sigue|hoy"},
	{cuePlanned, 3, 0, "mantenimiento programado|estara fuera de servicio|estara caido|estara caida|estaran caidos|estara inactivo|no estara disponible"},

	// ------------------------------------------------------------ Portuguese
	{cueOutage, 3, 0, "caiu|cairam|fora do ar|ta fora|esta fora|sem internet|sem sinal|sem rede|sem servico|instabilidade|instavel|pifou|ta off"},
	{cueProblem, 2, 0, "caindo|caindo toda hora|nao funciona|nao ta funcionando|nao carrega|nao abre|nao conecta|nao deixa|n deixa|nao consigo|nao entra|nao vai|nao chega|nao recebo|nao sai|dando erro|da erro|deu erro|erro|com erro|travando|trava|bugado|bugou|muito lento|problema|problemas|fica carregando|recusado|sem enviar|sem carregar|sem funcionar|nao responde|nao respondem|rejeitando|rejeita|recusando|servico indisponivel|indisponivel|lento demais|demora pra carregar|demorando|parado|so da erro"},
	{cueSoft, 1, 0, "lento|lenta"},
	{cueAsk, 1, 0, "alguem mais|so comigo|so eu|e so comigo|ou e minha|e geral"},
	{cueDenial, 4, 0, "nao caiu|nao esta fora|nao ta fora|e sua internet|sua internet|tua internet|verifica tua|verifica sua|alarme falso|servidor caseiro|meu proprio servidor|nada a ver com"},
	{cueRecovery, 3, 0, "voltou|ja voltou|voltou a funcionar|normalizou|ja funciona|funcionando de novo|restabelecido|foi resolvida|foi resolvido|foram normalizadas|foram normalizados|normalizadas|normalizados|ta normal|esta normal|tudo normal|ja ta normal"},
	{cuePast, 3, 0, "ontem|ano passado|semana passada|lembra da|lembra quando|se lembra|foi uma queda|ha um ano|faz um ano|outro dia"},
	{cueHypo, 3, 0, "e se|se cair|caso caia"},
	{cueNews, 2, 0, "demite|anuncia|divulga|lucra|lanca|promocao|passo a passo|novidade|novidades|ja disponivel|disponivel a partir"},
	{cueOther, 4, 0, "baixar|pra baixo"},
	{cueTech, 1, 0, "o app|do app|aplicativo|site|servidor|servidores|conta|e-mail|e-mails|email|mensagens|reuniao|login|logar|pagamento|transferencia|internet banking|saldo|sinal|internet|fibra|rede"},
	{cueNow, 1, 0, "de novo|agora|hoje|desde|ainda"},
	{cuePlanned, 3, 0, "manutencao programada|ficara fora do ar|ficara indisponivel|vai ficar fora do ar|estara fora do ar|parada programada"},

	// ------------------------------------------------------------ French
	{cueOutage, 3, 0, "en panne|panne|pannes|en rade|hs|est tombe|sont tombes|coupure|coupures|plus de reseau|plus d'internet|plus de connexion|plus rien|ne capte plus|inaccessible|injoignable|plante|a plante|ca plante|est down|sont down|panne generale|sans reseau|pas de reseau|appels d'urgence|sans internet|sans connexion"},
	{cueProblem, 2, 0, "ne marche pas|ne marche plus|marche pas|marche plus|ne fonctionne pas|ne fonctionne plus|fonctionne plus|ne charge pas|ne charge plus|ne se lance pas|ne s'ouvre pas|ne s'ouvre plus|ne passent pas|ne passent plus|ne partent pas|ne repond plus|ne se connecte pas|ne se connecte plus|se connecte plus|ne synchronise plus|impossible de|impossible d'|erreur|une erreur|bug|bugue|rame|soucis|souci|probleme|problemes|lenteur|refuse|ecran noir|ecran blanc|coupe|ca coupe|fait n'importe quoi|rejette|me laisse pas|ne me laisse pas|laisse pas|service indisponible|indisponible|veuillez reessayer|reessayer plus tard|reste bloque|bloque"},
	{cueSoft, 1, 0, "lent|lente|en retard"},
	{cueAsk, 1, 0, "c'est moi ou|y'a que moi|il n'y a que moi|chez vous aussi|vous aussi|quelqu'un d'autre|c'est que moi|c'est general"},
	{cueDenial, 4, 0, "n'est pas en panne|pas en panne|c'est ta connexion|ta connexion|ton wifi|verifie ton|fausse alerte|rien a voir avec|pas une panne|ce n'est pas une panne|n'est pas tombe|ne sont pas tombes|pas tombe|serveur a la maison|serveur maison|auto-heberge"},
	{cueRecovery, 3, 0, "est revenu|revenu|remarche|refonctionne|retabli|fonctionne a nouveau|de retour|c'est revenu"},
	{cuePast, 3, 0, "hier|l'an dernier|l'annee derniere|la semaine derniere|tu te souviens|c'etait une panne|il y a un an|il y a deux ans|l'autre jour"},
	{cueHypo, 3, langFR, "si|et si|si jamais"},
	{cueNews, 2, 0, "licencie|annonce|publie|tarifs|benefice|soldes|guide|nouveaute|nouveautes|desormais disponible|disponible des"},
	{cueOther, 4, 0, "panne de courant|telecharger|telechargement"},
	{cueTech, 1, 0, "l'appli|appli|application|site|serveur|serveurs|compte|mail|mails|messagerie|messages|reunion|connexion|virement|paiement|paiements|reseau|box|fibre|mobile"},
	{cueNow, 1, 0, "encore|en ce moment|depuis|aujourd'hui|ce matin|toujours"},
	{cuePlanned, 3, 0, "maintenance programmee|maintenance prevue|sera indisponible|sera inaccessible|seront indisponibles|sera coupe|travaux programmes"},

	// ------------------------------------------------------------ German
	{cueOutage, 3, 0, "~storung|~storungen|~ausfall|ausgefallen|fallt aus|kaputt|nicht erreichbar|abgesturzt|sturzt ab|kein internet|kein netz|kein empfang|keine verbindung|ist down|sind down|geht gar nichts|sturzt"},
	{cueProblem, 2, 0, "geht nicht|gehen nicht|geht auch nicht|bei euch auch nicht|bei dir auch nicht|geht gar nicht|gar nicht mehr|ladt nichts|laden nichts|tut nicht|funktioniert nicht|funktionieren nicht|ladt nicht|laden nicht|verbindet nicht|startet nicht|lasst mich nicht|offnet nicht|fehler|fehlermeldung|probleme|problem|spinnt|hangt|bricht ab|zickt|ruckelt|schlagt fehl|nicht moglich|unmoglich|abgelehnt|kein login|lehnt|keine mails|keine e-mails|keine nachrichten|ladt keine|ladt kein|laden keine|schiefgelaufen|technischer fehler|technischen fehler|zeigt nichts"},
	{cueSoft, 1, 0, "langsam|lahm"},
	{cueAsk, 1, 0, "bei euch auch|bei euch|nur bei mir|noch jemand|hat noch jemand|ist das uberall so|wer noch|noch wer|jemand anderes"},
	{cueDenial, 4, 0, "nicht down|ist nicht down|dein wlan|dein internet|deine verbindung|fehlalarm|hat nichts mit|nichts damit zu tun|nichts mit|liegt wohl am|eigener server|eigenen server|unser server"},
	{cueRecovery, 3, 0, "wieder da|lauft wieder|funktioniert wieder|geht wieder|wieder online|behoben"},
	{cuePast, 3, 0, "gestern|letztes jahr|letzte woche|weisst du noch|vor einem jahr|vor jahren|vor zwei jahren|damals|war ein ausfall"},
	{cueHypo, 3, 0, "falls|was ware|wenn"},
	{cueNews, 2, 0, "entlasst|kundigt|erhoht|gewinn|anleitung|angebote|ab sofort|jetzt verfugbar"},
	{cueOther, 4, 0, "stromausfall|runterladen|herunterladen|gesunken"},
	{cueTech, 1, 0, "die app|app|webseite|seite|server|konto|login|mails|postfach|nachrichten|besprechung|meeting|uberweisung|netz|internet|dsl|kabel|wlan|handy|bestellung"},
	{cueNow, 1, 0, "mal wieder|schon wieder|gerade|seit|heute|immer noch"},
	{cuePlanned, 3, 0, "geplante wartung|wartungsfenster|wird nicht erreichbar sein|nicht erreichbar sein wird|wird nicht verfugbar sein|geplante wartungsarbeiten|wegen wartungsarbeiten"},

	// ------------------------------------------------------------ Japanese
	{cueOutage, 3, 0, "落ちてる|落ちた|落ちてます|鯖落ち|サーバー落ち|障害|通信障害|大規模障害|障害発生|システム障害|死んでる|全滅|サーバーダウン|圏外|止まってる|復旧作業中|復旧中|繋がらない|つながらない|接続できない|直らない|復旧しない|戻らない|死んでて|死んだ|止まった|止まってる"},
	{cueProblem, 2, 0, "ログインできない|サインインできない|使えない|開かない|開けない|見れない|見られない|送れない|届かない|読み込めない|読み込まない|再生できない|エラー|不具合|動かない|できない|通信エラー|更新されない|表示されない|入れない|起動しない|不安定|読み込まれない|出ない|通れない|重い|重すぎ|重たい"},
	{cueSoft, 1, 0, "遅い"},
	{cueAsk, 1, 0, "私だけ|自分だけ|みんなも|俺だけ|僕だけ|他の人も|皆さんも|みなさんも"},
	{cueDenial, 4, 0, "落ちてない|落ちてません|障害じゃない|自分のwi-fi|自分の回線|障害じゃなかった|障害ではない|障害ではなかった|設定ミス|落ちてなかった|だけだった|普通に見れる|普通に使える|普通に使えてる|問題なく|自宅サーバー|自宅鯖"},
	{cueRecovery, 3, 0, "復旧した|復旧しました|復旧|直った|治った|戻った|使えるようになった|繋がった|つながった|復活"},
	{cuePast, 3, 0, "昨日|去年|覚えてる|昨夜|昨晩|先日|先週|先月|謝罪|お詫び"},
	{cueHypo, 3, 0, "もし"},
	{cueNews, 2, 0, "株価|値上げ|セール|決算|新機能|提供開始"},
	{cueOther, 4, 0, "落とした|落ち込|ダウンロード|でダウン|下落"},
	{cueTech, 1, 0, "アプリ|サーバー|鯖|ログイン|メール|メッセージ|サイト|回線|通信|ネット|アカウント|配信|会議"},
	{cueNow, 1, 0, "また|まだ|ずっと"},
	{cuePlanned, 3, 0, "メンテナンス予定|定期メンテナンス|メンテナンスのため|メンテ予定|メンテナンスを実施|停止予定"},
}

// cueWords returns the phrases of a set, with the glue marker removed and reported.
func (s cueSet) phrases() (out []string, glue []bool) {
	for p := range strings.SplitSeq(s.list, "|") {
		g := strings.HasPrefix(p, "~")
		p = strings.TrimPrefix(p, "~")
		if p == "" {
			continue
		}
		out = append(out, p)
		glue = append(glue, g)
	}
	return out, glue
}
