/* Unit tests for list.h: prepending, appending with a tail, and removing the first, a middle and
 * the last item keep both directions of the list and its tail right. */
#include "base/list.h"
#include "base/macro.h"
#include "tests.h"

struct item {
        int value;
        struct item *prev, *next;
};

/* Renders the list forwards, and checks that walking it backwards from tail gives the same. */
static const char *render(const struct item *head, const struct item *tail) {
        static char buf[64];
        size_t n = 0;
        const struct item *last = NULL;

        for (const struct item *i = head; i; i = i->next) {
                CHECK(i->prev == last);
                buf[n++] = (char) ('0' + i->value);
                last = i;
        }
        buf[n] = '\0';
        CHECK(last == tail);
        return buf;
}

static void test_prepend_and_remove(void) {
        struct item a = { .value = 1 }, b = { .value = 2 }, c = { .value = 3 };
        struct item *head = NULL;

        LIST_PREPEND(head, &a);
        LIST_PREPEND(head, &b);
        LIST_PREPEND(head, &c);
        CHECK_STREQ(render(head, &a), "321");

        LIST_REMOVE(head, &b);
        CHECK_STREQ(render(head, &a), "31");
        CHECK(!b.prev && !b.next);
        LIST_REMOVE(head, &c);
        CHECK_STREQ(render(head, &a), "1");
        LIST_REMOVE(head, &a);
        CHECK(!head);
}

/* A queue keeps its tail: the caller moves it back before removing the last item (as ecs.c does). */
static void remove_queued(struct item **head, struct item **tail, struct item *i) {
        if (*tail == i)
                *tail = i->prev;
        LIST_REMOVE(*head, i);
}

static void test_append_as_queue(void) {
        struct item items[4] = { { .value = 1 }, { .value = 2 }, { .value = 3 }, { .value = 4 } };
        struct item *head = NULL, *tail = NULL;

        for (size_t i = 0; i < ELEMENTSOF(items); i++)
                LIST_APPEND(head, tail, &items[i]);
        CHECK_STREQ(render(head, tail), "1234");

        remove_queued(&head, &tail, &items[3]);
        CHECK_STREQ(render(head, tail), "123");
        CHECK(tail == &items[2]);
        remove_queued(&head, &tail, &items[0]);
        CHECK_STREQ(render(head, tail), "23");
        LIST_APPEND(head, tail, &items[0]);
        CHECK_STREQ(render(head, tail), "231");
        remove_queued(&head, &tail, &items[2]);
        remove_queued(&head, &tail, &items[1]);
        remove_queued(&head, &tail, &items[0]);
        CHECK(!head && !tail);
        LIST_APPEND(head, tail, &items[3]);
        CHECK_STREQ(render(head, tail), "4");
}

int main(void) {
        test_prepend_and_remove();
        test_append_as_queue();
        TESTS_DONE();
}
