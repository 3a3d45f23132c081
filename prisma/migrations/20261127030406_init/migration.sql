-- CreateTable
CREATE TABLE "ProviderOrder" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "customerOrderId" TEXT NOT NULL,
    "ownerIdentity" TEXT,
    "state" TEXT NOT NULL,
    "cancelReason" TEXT,
    "cycle" INTEGER NOT NULL DEFAULT 0,
    "cycleTxid" TEXT,
    "activationType" TEXT,
    "scope" TEXT,
    "requestedCpd" JSONB NOT NULL,
    "offeredCpd" JSONB,
    "agreementCpd" JSONB,
    "nonce" TEXT,
    "validityOfferTime" DATETIME,
    "activationStatus" TEXT NOT NULL DEFAULT 'none',
    "snapshot" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    "parentOrderId" TEXT,
    CONSTRAINT "ProviderOrder_parentOrderId_fkey" FOREIGN KEY ("parentOrderId") REFERENCES "ProviderOrder" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "ProviderTransaction" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "txid" TEXT NOT NULL,
    "orderId" TEXT NOT NULL,
    "customerOrderId" TEXT NOT NULL,
    "method" TEXT NOT NULL,
    "transport" TEXT NOT NULL,
    "clientAddress" TEXT NOT NULL,
    "clientPort" INTEGER NOT NULL,
    "serverAddress" TEXT NOT NULL,
    "serverPort" INTEGER NOT NULL,
    "inSeq" BIGINT,
    "outSeq" BIGINT,
    "lastAnswer" BLOB,
    "lastAnswerAt" DATETIME,
    "processed" INTEGER NOT NULL DEFAULT 0,
    "status" TEXT NOT NULL DEFAULT 'open',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "ProviderTransaction_orderId_fkey" FOREIGN KEY ("orderId") REFERENCES "ProviderOrder" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "ProviderStateChange" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "orderId" TEXT NOT NULL,
    "from" TEXT,
    "to" TEXT NOT NULL,
    "cause" TEXT NOT NULL,
    "method" TEXT,
    "txid" TEXT,
    "at" DATETIME NOT NULL,
    "detail" JSONB,
    CONSTRAINT "ProviderStateChange_orderId_fkey" FOREIGN KEY ("orderId") REFERENCES "ProviderOrder" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "ProviderMessage" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "orderId" TEXT,
    "txid" TEXT NOT NULL,
    "direction" TEXT NOT NULL,
    "method" TEXT NOT NULL,
    "seq" BIGINT NOT NULL,
    "digest" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "transport" TEXT NOT NULL,
    "clientAddress" TEXT NOT NULL,
    "clientPort" INTEGER NOT NULL,
    "serverAddress" TEXT NOT NULL,
    "serverPort" INTEGER NOT NULL,
    "at" DATETIME NOT NULL,
    CONSTRAINT "ProviderMessage_orderId_fkey" FOREIGN KEY ("orderId") REFERENCES "ProviderOrder" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "CapacityPool" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "capacityInKbps" INTEGER NOT NULL,
    "capacityOutKbps" INTEGER NOT NULL,
    "availableInKbps" INTEGER NOT NULL,
    "availableOutKbps" INTEGER NOT NULL,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "CapacityReservation" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "pool" TEXT NOT NULL,
    "orderId" TEXT NOT NULL,
    "inKbps" INTEGER NOT NULL,
    "outKbps" INTEGER NOT NULL,
    "status" TEXT NOT NULL,
    "expiresAt" DATETIME,
    "releasedAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "CapacityReservation_pool_fkey" FOREIGN KEY ("pool") REFERENCES "CapacityPool" ("id") ON DELETE RESTRICT ON UPDATE CASCADE,
    CONSTRAINT "CapacityReservation_orderId_fkey" FOREIGN KEY ("orderId") REFERENCES "ProviderOrder" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "ScheduledActivation" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "orderId" TEXT NOT NULL,
    "at" DATETIME NOT NULL,
    "action" TEXT NOT NULL,
    "done" BOOLEAN NOT NULL DEFAULT false,
    "doneAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "ScheduledActivation_orderId_fkey" FOREIGN KEY ("orderId") REFERENCES "ProviderOrder" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "EngineState" (
    "key" TEXT NOT NULL PRIMARY KEY,
    "json" TEXT NOT NULL,
    "updatedAt" DATETIME NOT NULL
);

-- CreateIndex
CREATE INDEX "ProviderOrder_customerOrderId_idx" ON "ProviderOrder"("customerOrderId");

-- CreateIndex
CREATE INDEX "ProviderOrder_ownerIdentity_idx" ON "ProviderOrder"("ownerIdentity");

-- CreateIndex
CREATE INDEX "ProviderOrder_state_idx" ON "ProviderOrder"("state");

-- CreateIndex
CREATE INDEX "ProviderOrder_parentOrderId_idx" ON "ProviderOrder"("parentOrderId");

-- CreateIndex
CREATE INDEX "ProviderTransaction_customerOrderId_txid_idx" ON "ProviderTransaction"("customerOrderId", "txid");

-- CreateIndex
CREATE INDEX "ProviderTransaction_txid_idx" ON "ProviderTransaction"("txid");

-- CreateIndex
CREATE UNIQUE INDEX "ProviderTransaction_orderId_txid_key" ON "ProviderTransaction"("orderId", "txid");

-- CreateIndex
CREATE INDEX "ProviderStateChange_orderId_at_idx" ON "ProviderStateChange"("orderId", "at");

-- CreateIndex
CREATE INDEX "ProviderStateChange_at_idx" ON "ProviderStateChange"("at");

-- CreateIndex
CREATE INDEX "ProviderMessage_orderId_at_idx" ON "ProviderMessage"("orderId", "at");

-- CreateIndex
CREATE INDEX "ProviderMessage_txid_idx" ON "ProviderMessage"("txid");

-- CreateIndex
CREATE INDEX "ProviderMessage_at_idx" ON "ProviderMessage"("at");

-- CreateIndex
CREATE INDEX "CapacityReservation_pool_status_idx" ON "CapacityReservation"("pool", "status");

-- CreateIndex
CREATE INDEX "CapacityReservation_orderId_idx" ON "CapacityReservation"("orderId");

-- CreateIndex
CREATE INDEX "CapacityReservation_status_expiresAt_idx" ON "CapacityReservation"("status", "expiresAt");

-- CreateIndex
CREATE INDEX "ScheduledActivation_done_at_idx" ON "ScheduledActivation"("done", "at");

-- CreateIndex
CREATE UNIQUE INDEX "ScheduledActivation_orderId_action_at_key" ON "ScheduledActivation"("orderId", "action", "at");
