-- CreateIndex
CREATE INDEX "Negotiation_providerOrderId_idx" ON "Negotiation"("providerOrderId");

-- CreateIndex
CREATE INDEX "Order_createdAt_id_idx" ON "Order"("createdAt", "id");

-- CreateIndex
CREATE INDEX "Order_updatedAt_id_idx" ON "Order"("updatedAt", "id");

-- CreateIndex
CREATE INDEX "Order_state_createdAt_id_idx" ON "Order"("state", "createdAt", "id");

-- CreateIndex
CREATE INDEX "Order_organisationId_createdAt_id_idx" ON "Order"("organisationId", "createdAt", "id");
