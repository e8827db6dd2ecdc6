package folders

import (
	"strings"
	"unicode"

	"github.com/emersion/go-imap/v2"
)

// uses are the special uses (RFC 6154) this package maps, in the order Plan
// assigns them. \Important (RFC 8457) and other attributes are not special
// uses here: such folders map by name.
var uses = []imap.MailboxAttr{imap.MailboxAttrSent, imap.MailboxAttrDrafts, imap.MailboxAttrTrash, imap.MailboxAttrJunk, imap.MailboxAttrArchive, imap.MailboxAttrAll, imap.MailboxAttrFlagged}

// canonicalUse returns the special use an attribute names, compared without
// regard to case as IMAP attributes are; "" for any other attribute.
func canonicalUse(attr string) imap.MailboxAttr {
	for _, u := range uses {
		if strings.EqualFold(attr, string(u)) {
			return u
		}
	}
	return ""
}

// wellKnownNames are the names under which mail clients and servers create
// the special folders, in many languages. A name is compared with
// strings.EqualFold. \All and \Flagged are recognised by attribute only:
// their names ("All Mail", "Starred") are too often ordinary folders.
var wellKnownNames = map[imap.MailboxAttr][]string{
	imap.MailboxAttrSent: {
		"Sent", "Sent Items", "Sent Messages", "Sent Mail", "Sent-Mail", "Sent Mails", "Sent Email",
		"已发送", "已发送邮件", "已發送", "已傳送", "已傳送郵件", "寄件備份", "已寄出郵件",
		"Skickat", "Skickade", "Skickade objekt", "Skickade meddelanden",
		"Gesendet", "Gesendete Objekte", "Gesendete Elemente", "Gesendete Nachrichten",
		"Envoyés", "Envoyé", "Éléments envoyés", "Messages envoyés",
		"Enviados", "Elementos enviados", "Correo enviado", "Mensajes enviados",
		"Itens enviados", "Mensagens enviadas",
		"Inviati", "Posta inviata", "Elementi inviati", "Messaggi inviati",
		"Verzonden", "Verzonden items", "Verzonden berichten",
		"Wysłane", "Elementy wysłane",
		"Отправленные", "Отправленные элементы", "Надіслані",
		"送信済み", "送信済みアイテム", "送信済みメール",
		"Sendt", "Sendte", "Sendte elementer",
		"Lähetetyt", "Lähetetyt kohteet", "Lähetetyt viestit",
		"Odeslané", "Odeslaná pošta",
		"Gönderilmiş Öğeler", "Gönderilenler",
		"보낸 편지함", "보낸편지함",
		"Elküldött elemek", "Elküldött",
		"Απεσταλμένα",
	},
	imap.MailboxAttrDrafts: {
		"Drafts", "Draft",
		"草稿", "草稿箱", "草稿夹", "草稿夾",
		"Utkast", "Udkast", "Kladder",
		"Entwürfe",
		"Brouillons",
		"Borradores",
		"Rascunhos",
		"Bozze",
		"Concepten",
		"Kopie robocze", "Wersje robocze",
		"Черновики", "Чернетки",
		"下書き",
		"Luonnokset",
		"Koncepty", "Rozepsané",
		"Taslaklar",
		"임시 보관함", "임시보관함",
		"Piszkozatok",
		"Πρόχειρα",
	},
	imap.MailboxAttrTrash: {
		"Trash", "Deleted Items", "Deleted Messages", "Deleted", "Bin",
		"已删除", "已删除邮件", "已刪除", "已刪除郵件", "废纸篓", "垃圾桶",
		"Borttaget", "Borttagna objekt", "Papperskorgen",
		"Papierkorb", "Gelöschte Objekte", "Gelöschte Elemente", "Gelöschte Nachrichten",
		"Corbeille", "Éléments supprimés", "Messages supprimés",
		"Papelera", "Elementos eliminados", "Eliminados",
		"Lixeira", "Lixo", "Itens excluídos", "Itens eliminados",
		"Cestino", "Posta eliminata", "Elementi eliminati",
		"Prullenbak", "Verwijderde items", "Verwijderd",
		"Kosz", "Elementy usunięte",
		"Корзина", "Удаленные", "Удалённые", "Удаленные элементы", "Кошик",
		"ゴミ箱", "ごみ箱", "削除済みアイテム",
		"Papirkurv", "Slettet post", "Slettede elementer",
		"Roskakori", "Poistetut", "Poistetut kohteet",
		"Koš", "Odstraněná pošta",
		"Çöp Kutusu", "Silinmiş Öğeler",
		"휴지통",
		"Kuka", "Törölt elemek",
		"Κάδος απορριμμάτων",
	},
	imap.MailboxAttrJunk: {
		"Junk", "Spam", "Junk E-mail", "Junk Email", "Junk Mail", "Bulk Mail",
		"垃圾邮件", "垃圾郵件",
		"Skräppost",
		"Junk-E-Mail",
		"Courrier indésirable", "Indésirables", "Pourriel",
		"Correo no deseado", "No deseado",
		"Lixo eletrônico", "Lixo electrónico",
		"Posta indesiderata", "Indesiderata",
		"Ongewenste e-mail", "Ongewenst",
		"Wiadomości-śmieci",
		"Спам", "Нежелательная почта",
		"迷惑メール",
		"Uønsket e-mail", "Uønsket post", "Søppelpost",
		"Roskaposti",
		"Nevyžádaná pošta",
		"Önemsiz E-posta", "İstenmeyen",
		"스팸 메일함", "스팸메일함",
		"Levélszemét",
		"Ανεπιθύμητα",
	},
	imap.MailboxAttrArchive: {
		"Archive", "Archives",
		"Arkiv", "Archiv", "Archivo", "Arquivo", "Archivio", "Archief", "Archiwum", "Архив",
		"アーカイブ", "存档", "归档", "封存", "Arkisto", "Arşiv", "Archívum",
	},
}

// byFoldedName indexes wellKnownNames by foldKey.
var byFoldedName = func() map[string]imap.MailboxAttr {
	m := make(map[string]imap.MailboxAttr)
	for u, names := range wellKnownNames {
		for _, n := range names {
			m[foldKey(n)] = u
		}
	}
	return m
}()

// UseByName returns the special use a top-level folder called name is known
// for (see wellKnownNames), or "". Case does not matter.
func UseByName(name string) imap.MailboxAttr {
	return byFoldedName[foldKey(name)]
}

// foldKey maps s to a key such that foldKey(a) == foldKey(b) exactly when
// strings.EqualFold(a, b): every rune becomes the smallest rune of its
// simple case-folding orbit.
func foldKey(s string) string {
	return strings.Map(func(r rune) rune {
		lo := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			lo = min(lo, f)
		}
		return lo
	}, s)
}
