package main

import (
	"errors"

	"caseverify/providers/email"
	"caseverify/providers/sms"
)

// messengers builds the real email and SMS senders from SMTP_URL and
// TWILIO_*; a nil sender means that channel goes to the database outbox.
func messengers(getenv func(string) string) (email.Sender, sms.Sender, string, error) {
	var mail email.Sender
	if u := getenv("SMTP_URL"); u != "" {
		cfg, err := email.ParseURL(u)
		if err != nil {
			return nil, nil, "", err // names SMTP_URL, never echoes the password
		}
		if mail, err = email.NewSMTP(cfg); err != nil {
			return nil, nil, "", err
		}
	}
	var text sms.Sender
	sid, token, from := getenv("TWILIO_ACCOUNT_SID"), getenv("TWILIO_AUTH_TOKEN"), getenv("TWILIO_FROM")
	if sid != "" || token != "" || from != "" {
		if sid == "" || token == "" || from == "" {
			return nil, nil, "", errors.New("configuration: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM go together")
		}
		t, err := sms.NewTwilio(sms.TwilioConfig{AccountSID: sid, AuthToken: token, From: from, BaseURL: getenv("TWILIO_BASE_URL")})
		if err != nil {
			return nil, nil, "", err
		}
		text = t
	}
	return mail, text, token, nil
}
