package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// Crypt encrypts PII at rest with AES-256-GCM and computes keyed hashes
// ("blind indexes") for the few fields that need an exact-match search.
//
// Ciphertext layout: 1 byte key id | 12 byte nonce | sealed data. The key id
// leaves room for rotation. The additional data binds a ciphertext to its
// table, column and row, so a value cannot be copied onto another row.
type Crypt struct {
	aead  cipher.AEAD
	index []byte
}

const keyID byte = 1

// NewCrypt derives the encryption and index keys from a 32-byte data key.
func NewCrypt(dataKey []byte) (*Crypt, error) {
	if len(dataKey) != 32 {
		return nil, errors.New("store: DATA_KEY must be 32 bytes (64 hex characters)")
	}
	encKey := derive(dataKey, "caseverify pii encryption v1")
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, wrap("NewCrypt", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, wrap("NewCrypt", err)
	}
	return &Crypt{aead: aead, index: derive(dataKey, "caseverify pii index v1")}, nil
}

// derive returns HMAC-SHA256(key, label): independent subkeys from one secret.
func derive(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// Seal encrypts plaintext for (aad). An empty plaintext seals to nil so an
// absent value stays NULL.
func (c *Crypt) Seal(plaintext, aad string) []byte {
	if plaintext == "" {
		return nil
	}
	nonce := make([]byte, c.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	out := append([]byte{keyID}, nonce...)
	return c.aead.Seal(out, nonce, []byte(plaintext), []byte(aad))
}

// Open decrypts a value sealed with the same aad. Nil opens to "".
func (c *Crypt) Open(ciphertext []byte, aad string) (string, error) {
	if len(ciphertext) == 0 {
		return "", nil
	}
	n := c.aead.NonceSize()
	if len(ciphertext) < 1+n || ciphertext[0] != keyID {
		return "", errors.New("store: unknown ciphertext format")
	}
	pt, err := c.aead.Open(nil, ciphertext[1:1+n], ciphertext[1+n:], []byte(aad))
	if err != nil {
		return "", fmt.Errorf("store: decrypt %s: %w", aad, err)
	}
	return string(pt), nil
}

// Index returns the blind index of a normalized value, or "" for "".
func (c *Crypt) Index(kind, normalized string) string {
	if normalized == "" {
		return ""
	}
	m := hmac.New(sha256.New, c.index)
	m.Write([]byte(kind + ":" + normalized))
	return hex.EncodeToString(m.Sum(nil))
}

func aad(table, column string, id int64) string {
	return fmt.Sprintf("%s.%s:%d", table, column, id)
}
