-- Provider registry (issue 10 item 3): encrypted keys, TLS files, revisions, last check.
-- Plain ADD COLUMNs (no table rebuild) so that other additive Provider migrations merge cleanly.
ALTER TABLE "Provider" ADD COLUMN "pskKeyEnc" TEXT;
ALTER TABLE "Provider" ADD COLUMN "tlsCaFile" TEXT;
ALTER TABLE "Provider" ADD COLUMN "tlsCertFile" TEXT;
ALTER TABLE "Provider" ADD COLUMN "tlsKeyEnc" TEXT;
ALTER TABLE "Provider" ADD COLUMN "revision" INTEGER NOT NULL DEFAULT 1;
ALTER TABLE "Provider" ADD COLUMN "lastCheckAt" DATETIME;
ALTER TABLE "Provider" ADD COLUMN "lastCheckOk" BOOLEAN;
ALTER TABLE "Provider" ADD COLUMN "lastCheckMessage" TEXT;
ALTER TABLE "Provider" ADD COLUMN "lastHandshakeMs" REAL;
ALTER TABLE "Provider" ADD COLUMN "lastRttMs" REAL;

ALTER TABLE "Negotiation" ADD COLUMN "providerRevision" INTEGER;

CREATE TABLE "ProviderRevision" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "providerId" TEXT NOT NULL,
    "revision" INTEGER NOT NULL,
    "endpoint" TEXT NOT NULL,
    "transport" TEXT NOT NULL,
    "pskIdentity" TEXT,
    "pskKeyFile" TEXT,
    "pskKeyEnc" TEXT,
    "tlsCaFile" TEXT,
    "tlsCertFile" TEXT,
    "tlsKeyEnc" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "ProviderRevision_providerId_fkey" FOREIGN KEY ("providerId") REFERENCES "Provider" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "ProviderRevision_providerId_revision_key" ON "ProviderRevision"("providerId", "revision");

-- Revision 1 of every existing provider: its settings as they are.
INSERT INTO "ProviderRevision" ("id", "providerId", "revision", "endpoint", "transport", "pskIdentity", "pskKeyFile")
SELECT 'rev1-' || "id", "id", 1, "endpoint", "transport", "pskIdentity", "pskKeyFile" FROM "Provider";
